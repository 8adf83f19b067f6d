using System.Text;
using TtEngine.Tokenization;

namespace TtEngine.Chat;

/// <summary>One chat message; Role is "system", "user" or "assistant".</summary>
public sealed record ChatMessage(string Role, string Content);

/// <summary>Prompt formats the engine can render.</summary>
public enum ChatFormat
{
    /// <summary>Llama 3 instruct: &lt;|start_header_id|&gt;role&lt;|end_header_id|&gt;\n\ncontent&lt;|eot_id|&gt;.</summary>
    Llama3,
    /// <summary>Llama 3.1 instruct: as Llama 3, with the "Cutting Knowledge Date" system preamble of Meta's template.</summary>
    Llama31,
    /// <summary>Llama 2 chat: &lt;s&gt;[INST] &lt;&lt;SYS&gt;&gt;…&lt;&lt;/SYS&gt;&gt; user [/INST] assistant &lt;/s&gt;.</summary>
    Llama2,
}

/// <summary>Chooses and renders chat prompt formats (a fixed set, recognised from tokenizer.chat_template; no Jinja).</summary>
public static class ChatTemplate
{
    /// <summary>
    /// Picks the format for a GGUF's tokenizer.chat_template. Without a template, a vocabulary with
    /// &lt;|start_header_id|&gt; means Llama 3, otherwise Llama 2.
    /// </summary>
    public static ChatFormat Detect(string? template, Tokenizer? tokenizer = null)
    {
        if (!string.IsNullOrEmpty(template))
        {
            if (template.Contains("<|start_header_id|>", StringComparison.Ordinal))
                return template.Contains("Cutting Knowledge Date", StringComparison.Ordinal) ? ChatFormat.Llama31 : ChatFormat.Llama3;
            if (template.Contains("[INST]", StringComparison.Ordinal)) return ChatFormat.Llama2;
        }
        return tokenizer != null && tokenizer.GetId("<|start_header_id|>") >= 0 ? ChatFormat.Llama3 : ChatFormat.Llama2;
    }

    /// <summary>
    /// Renders messages as prompt text, BOS included as text (encode with parseSpecial and without addSpecial).
    /// <paramref name="addAssistantPrompt"/> appends the header that asks the model for the assistant's turn.
    /// </summary>
    public static string Apply(ChatFormat format, IReadOnlyList<ChatMessage> messages, bool addAssistantPrompt = true)
    {
        var sb = new StringBuilder();
        switch (format)
        {
            case ChatFormat.Llama3:
            case ChatFormat.Llama31:
            {
                sb.Append("<|begin_of_text|>");
                int first = 0;
                if (format == ChatFormat.Llama31)
                {
                    string system = messages.Count > 0 && messages[0].Role == "system" ? messages[0].Content.Trim() : "";
                    if (messages.Count > 0 && messages[0].Role == "system") first = 1;
                    sb.Append("<|start_header_id|>system<|end_header_id|>\n\n")
                      .Append("Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n")
                      .Append(system).Append("<|eot_id|>");
                }
                for (int i = first; i < messages.Count; i++)
                    sb.Append("<|start_header_id|>").Append(messages[i].Role).Append("<|end_header_id|>\n\n")
                      .Append(messages[i].Content.Trim()).Append("<|eot_id|>");
                if (addAssistantPrompt) sb.Append("<|start_header_id|>assistant<|end_header_id|>\n\n");
                break;
            }
            case ChatFormat.Llama2:
            {
                string? system = null;
                int i = 0;
                if (messages.Count > 0 && messages[0].Role == "system")
                {
                    system = messages[0].Content.Trim();
                    i = 1;
                }
                bool firstUser = true;
                for (; i < messages.Count; i++)
                {
                    var m = messages[i];
                    if (m.Role == "user")
                    {
                        sb.Append("<s>[INST] ");
                        if (firstUser && system != null) sb.Append("<<SYS>>\n").Append(system).Append("\n<</SYS>>\n\n");
                        sb.Append(m.Content.Trim()).Append(" [/INST]");
                        firstUser = false;
                    }
                    else if (m.Role == "assistant")
                    {
                        sb.Append(' ').Append(m.Content.Trim()).Append(" </s>");
                    }
                    else throw new ArgumentException($"role '{m.Role}' is not supported in Llama 2 chat", nameof(messages));
                }
                _ = addAssistantPrompt; // the [/INST] already asks for the assistant turn
                break;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(format));
        }
        return sb.ToString();
    }
}
