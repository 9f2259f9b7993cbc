#nullable enable
using System.Globalization;

namespace MLStyle.Imaging;

/// <summary>Axis ticks of plots: "nice" linear ticks (1, 2, 5 × 10ᵏ), log-axis decades and compact tick labels.</summary>
internal static class AxisTicks
{
    /// <summary>The distance between the first two ticks (0 with fewer than two).</summary>
    internal static double Step(List<double> ticks) => ticks.Count >= 2 ? ticks[1] - ticks[0] : 0;

    /// <summary>Ticks at 1, 2, 5 x 10^k inside [lo, hi], about <paramref name="target"/> of them.</summary>
    internal static List<double> NiceTicks(double lo, double hi, int target, double minStep = 0)
    {
        var ticks = new List<double>();
        double span = hi - lo;
        if (!(span > 0) || !double.IsFinite(span)) return ticks;
        double raw = span / Math.Max(1, target);
        double mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double norm = raw / mag;
        double step = Math.Max(minStep, (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag);
        double first = Math.Ceiling(lo / step - 1e-9) * step;
        for (int i = 0; i < 100; i++)
        {
            double t = first + i * step;
            if (t > hi + step * 1e-9) break;
            ticks.Add(Math.Abs(t) < step * 1e-9 ? 0 : t);
        }
        return ticks;
    }

    /// <summary>Major and minor ticks for a log10 axis spanning [lo, hi] (in log10 units).</summary>
    internal static (List<double> Major, List<double> Minor) LogTicks(double lo, double hi)
    {
        var major = new List<double>();
        var minor = new List<double>();
        int kLo = (int)Math.Ceiling(lo - 1e-9), kHi = (int)Math.Floor(hi + 1e-9);
        int decades = kHi - kLo + 1;
        if (decades >= 2)
        {
            int every = Math.Max(1, (int)Math.Ceiling(decades / 8.0));
            for (int k = kLo; k <= kHi; k++)
                if ((k - kLo) % every == 0) major.Add(k);
            if (every == 1 && hi - lo <= 7)
            {
                for (int k = (int)Math.Floor(lo); k <= kHi; k++)
                    for (int m = 2; m <= 9; m++)
                    {
                        double t = k + Math.Log10(m);
                        if (t >= lo && t <= hi) minor.Add(t);
                    }
            }
            if (major.Count <= 3 && every == 1)
            {
                // Few decades: also label 2x and 5x.
                foreach (double t in minor.ToList())
                {
                    double m = Math.Round(Math.Pow(10, t - Math.Floor(t + 1e-9)));
                    if (m is 2 or 5) major.Add(t);
                }
                major.Sort();
            }
            return (major, minor);
        }
        // Less than about one decade: linear "nice" ticks in value space, placed logarithmically.
        double vLo = Math.Pow(10, lo), vHi = Math.Pow(10, hi);
        foreach (double v in NiceTicks(vLo, vHi, 6))
            if (v > 0) major.Add(Math.Log10(v));
        return (major, minor);
    }

    /// <summary>
    /// Formats an axis value compactly: "0", "1500", "0.25" for moderate magnitudes (decimals chosen from the tick
    /// <paramref name="step"/>; 0 = unknown), and "2.5e6" / "1e-4" style for |v| &gt;= 1e5 or &lt; 1e-3.
    /// </summary>
    /// <param name="v">The value.</param>
    /// <param name="step">Distance between neighbouring ticks, or 0 if unknown.</param>
    public static string FormatTick(double v, double step)
    {
        if (v == 0) return "0";
        double a = Math.Abs(v);
        var inv = CultureInfo.InvariantCulture;
        if (a >= 1e5 || a < 1e-3) return FormatExponent(v);
        int decimals = 0;
        if (step > 0 && step < 1) decimals = Math.Min(6, (int)Math.Ceiling(-Math.Log10(step) - 1e-9));
        else if (step == 0) return v.ToString("0.###", inv);
        return v.ToString("F" + decimals, inv);
    }

    /// <summary>"2.5e6" / "1e-4" style.</summary>
    public static string FormatExponent(double v)
    {
        if (v == 0) return "0";
        int exp = (int)Math.Floor(Math.Log10(Math.Abs(v)));
        double mant = v / Math.Pow(10, exp);
        if (Math.Abs(mant) >= 9.995) { mant /= 10; exp++; }
        return $"{mant.ToString("0.##", CultureInfo.InvariantCulture)}e{exp}";
    }
}
