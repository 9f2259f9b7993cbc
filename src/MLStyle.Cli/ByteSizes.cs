using System.Globalization;

namespace MLStyle.Cli;

/// <summary>Memory sizes as the command line writes them (<c>--max-memory 8GiB</c>).</summary>
public static class ByteSizes
{
    /// <summary>Parses a memory size: a number of bytes, or with a unit K, M, G, T (binary: KiB, MiB, GiB, TiB) or KB, MB, GB, TB (decimal).</summary>
    /// <exception cref="MLStyleException">Not a positive size.</exception>
    public static long Parse(string text)
    {
        var s = (text ?? "").Trim();
        int i = 0;
        while (i < s.Length && (char.IsDigit(s[i]) || s[i] == '.')) i++;
        var unit = s[i..].Trim().ToUpperInvariant();
        double mult = unit switch
        {
            "" or "B" => 1,
            "K" or "KIB" => 1L << 10, "M" or "MIB" => 1L << 20, "G" or "GIB" => 1L << 30, "T" or "TIB" => 1L << 40,
            "KB" => 1e3, "MB" => 1e6, "GB" => 1e9, "TB" => 1e12,
            _ => double.NaN,
        };
        if (i == 0 || double.IsNaN(mult) || !double.TryParse(s[..i], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !(v > 0) || v * mult >= long.MaxValue)
            throw new MLStyleException($"invalid memory size '{text}': use e.g. 4GiB, 512MB or a number of bytes");
        return (long)(v * mult);
    }
}
