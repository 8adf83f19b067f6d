using System.CommandLine;
using Ttctl;
using Ttctl.Commands;

// ttctl: one Command per verb, each in Commands/. Read verbs take --json; errors go to stderr with meaningful exit codes.
var root = new RootCommand("ttctl - control ttnoded, the Tenstorrent node agent\n\n" + ExitCodes.Help);
root.Options.Add(GlobalOptions.Socket);
root.Subcommands.Add(VersionCommand.Create());
root.Subcommands.Add(NodeCommand.Create());
root.Subcommands.Add(CardListCommand.Create());
root.Subcommands.Add(BundleCommand.Create());
root.Subcommands.Add(ModelCommand.Create());
root.Subcommands.Add(UsbCommand.Create());
root.Subcommands.Add(SubmitCommand.Create());
root.Subcommands.Add(StatusCommand.Create());
root.Subcommands.Add(LogsCommand.Create());
root.Subcommands.Add(CancelCommand.Create());
root.Subcommands.Add(QueueCommand.Create());
root.Subcommands.Add(AllocCommand.Create());
root.Subcommands.Add(AuditCommand.Create());
root.Subcommands.Add(EngineCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
return await root.Parse(args).InvokeAsync();
