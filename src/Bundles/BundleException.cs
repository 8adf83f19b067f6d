using System.Diagnostics.CodeAnalysis;

namespace TtBundles;

/// <summary>Why a bundle was rejected.</summary>
public enum BundleErrorKind
{
    /// <summary>The tar structure or the manifest is malformed or hostile (bad path, link, duplicate, truncation...).</summary>
    Format,
    /// <summary>A payload's size or sha256 disagrees with the manifest.</summary>
    Integrity,
    /// <summary>The signature is absent, invalid or by an untrusted key, and the trust policy forbids it.</summary>
    Trust,
}

/// <summary>
/// The one error a rejected bundle produces. <see cref="Exception.Message"/> is a single line that names the entry or
/// field, e.g. <c>bundle entry 'x/../../etc/passwd': path contains '..'</c>.
/// </summary>
public sealed class BundleException : Exception
{
    /// <summary>Creates the exception.</summary>
    public BundleException(BundleErrorKind kind, string message) : base(message) => Kind = kind;

    /// <summary>Which class of failure this is.</summary>
    public BundleErrorKind Kind { get; }
}

/// <summary>Throw helpers so hot paths stay small and every message has the same shape.</summary>
internal static class BundleThrow
{
    [DoesNotReturn]
    public static void Format(string message) => throw new BundleException(BundleErrorKind.Format, message);

    [DoesNotReturn]
    public static void Entry(string entry, string detail) =>
        throw new BundleException(BundleErrorKind.Format, $"bundle entry '{Printable(entry)}': {detail}");

    [DoesNotReturn]
    public static void Manifest(string field, string detail) =>
        throw new BundleException(BundleErrorKind.Format, $"manifest field '{field}': {detail}");

    [DoesNotReturn]
    public static void Integrity(string entry, string detail) =>
        throw new BundleException(BundleErrorKind.Integrity, $"bundle entry '{Printable(entry)}': {detail}");

    [DoesNotReturn]
    public static void Trust(string message) => throw new BundleException(BundleErrorKind.Trust, message);

    /// <summary>Makes hostile names safe to print on one line (control characters escaped, length capped).</summary>
    public static string Printable(string s)
    {
        var sb = new System.Text.StringBuilder(Math.Min(s.Length, 120));
        foreach (char c in s)
        {
            if (sb.Length >= 120) { sb.Append("..."); break; }
            if (char.IsControl(c) || c == '\'') sb.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
            else sb.Append(c);
        }
        return sb.ToString();
    }
}
