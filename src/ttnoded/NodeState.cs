namespace Ttnoded;

/// <summary>The daemon's lifecycle as the API and the service manager see it.</summary>
public sealed class NodeState
{
    private volatile bool _ready;
    private volatile string _status = "starting";

    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    /// <summary>True once the store is open, the hardware probe has run and the socket listens.</summary>
    public bool Ready => _ready;

    /// <summary>What the daemon is doing, as sent in STATUS= lines.</summary>
    public string Status => _status;

    public void SetStatus(string status) => _status = status;

    public void MarkReady(string status) { _status = status; _ready = true; }
}
