namespace Ttctl;

/// <summary>ttctl's exit codes (sysexits.h where one fits). Documented in docs/ttctl.md and `ttctl --help`.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>The operation ran and failed (a check failed, a job failed, verification failed).</summary>
    public const int Failure = 1;
    /// <summary>Bad command line or bad input file.</summary>
    public const int Usage = 2;
    /// <summary>The daemon refused the request as malformed (HTTP 400/404/409/429).</summary>
    public const int Rejected = 65;
    /// <summary>ttnoded is not reachable on its socket (EX_UNAVAILABLE).</summary>
    public const int Unavailable = 69;
    /// <summary>The daemon failed internally (HTTP 5xx) (EX_SOFTWARE).</summary>
    public const int DaemonError = 70;
    /// <summary>Permission denied (HTTP 403 or socket permissions) (EX_NOPERM).</summary>
    public const int PermissionDenied = 77;

    public const string Help =
        "Exit codes: 0 ok, 1 failed (check, job or verification), 2 usage or bad input, 65 rejected by the daemon,\n" +
        "69 daemon unreachable, 70 daemon error, 77 permission denied.";
}
