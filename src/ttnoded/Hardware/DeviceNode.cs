using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Ttnoded.Hardware;

/// <summary>
/// Opening /dev/tenstorrent/N the way the doc advises (§2.2, §8): only when an ioctl is needed, with
/// O_RDWR|O_CLOEXEC|O_APPEND (on KMD ≥ 2.6 O_APPEND starts the fd at power state 0, so the open does not
/// power the chip up), never O_EXCL, and closed promptly (open fds show in pids and block exclusive users).
/// Monitoring itself reads sysfs only and never calls this.
/// </summary>
internal static class DeviceNode
{
    public static SafeFileHandle OpenBrief(string path)
    {
        int fd = Native.Open(path, Native.O_RDWR | Native.O_CLOEXEC | Native.O_APPEND);
        if (fd < 0) throw new IOException($"open({path}, O_RDWR|O_CLOEXEC|O_APPEND) failed: errno {Marshal.GetLastPInvokeError()}");
        return new SafeFileHandle(fd, ownsHandle: true);
    }
}
