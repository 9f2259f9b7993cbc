using System.Diagnostics;
using System.Text;
using MLStyle.Runtime;

namespace MLStyle.Cli.Commands;

/// <summary>The options of the backbone benchmarks (<c>bench</c>, <c>bench batch</c>, <c>bench train</c>).</summary>
public class BenchSettings : BackboneSettings
{
    [CommandOption("--markdown <FILE>")]
    [Description("Also write the table(s) as Markdown.")]
    public string? Markdown { get; init; }
}

/// <summary>
/// The options of the round-robin timing benchmarks (<c>bench</c>, <c>bench train</c>): the timed runs per measurement and
/// the conv-gradient formulations to compare; they time on 2 threads unless --threads says otherwise.
/// </summary>
/// <param name="defaultRepeat">The timed runs per measurement when --repeat is not given.</param>
public abstract class TimingBenchSettings(int defaultRepeat) : BenchSettings
{
    [CommandOption("--repeat <N>")]
    [Description("Timed runs per measurement after 2 warm-up runs (default: 7 in bench, 5 in bench train); the median is reported.")]
    public int? Repeat { get; init; }

    [CommandOption("--formulations")]
    [Description("Also time each formulation of the conv gradients measured: in bench the stride-1 input gradient (Conv with flipped weights vs ConvTranspose), in bench train the weight gradients (Conv or GEMM, for 3×3-and-smaller and for larger kernels).")]
    public bool Formulations { get; init; }

    /// <summary>The timed runs per measurement.</summary>
    public int Repeats => Repeat ?? defaultRepeat;

    /// <summary>The session of the timings: --threads, or 2 threads (comparable between machines) when it is not given.</summary>
    public SessionSettings TimingSession() => Session() with { Threads = Threads > 0 ? Threads : 2 };

    /// <summary>How the timings are taken, for the first line of the output (threads, runs, median).</summary>
    public string TimingDescription() => $"threads {TimingSession().Threads}, {Repeats} runs + {Benchmarks.WarmUpRounds} warm-up, median";
}

/// <summary>What the <c>mlstyle bench</c> commands share: round-robin timing, random inputs, and their tables.</summary>
public static class Benchmarks
{
    /// <summary><paramref name="count"/> random RGB images of <paramref name="size"/>², uniform in 0–255 (deterministic for a seed).</summary>
    public static FloatTensor RandomImages(int count, int size, int seed)
    {
        var rng = new Random(seed);
        var d = new float[count * 3 * size * size];
        for (int i = 0; i < d.Length; i++) d[i] = (float)(rng.NextDouble() * 255);
        return FloatTensor.Of(d, count, 3, size, size);
    }

    /// <summary>Untimed rounds before the timed ones in <see cref="Medians"/>.</summary>
    public const int WarmUpRounds = 2;

    /// <summary>
    /// Median milliseconds of each action over <paramref name="repeat"/> round-robin rounds after <see cref="WarmUpRounds"/>
    /// warm-up rounds.
    /// </summary>
    public static double[] Medians(int repeat, IReadOnlyList<Action> runs)
    {
        var t = runs.Select(_ => new List<double>()).ToArray();
        for (int round = 0; round < Math.Max(1, repeat) + WarmUpRounds; round++)
            for (int i = 0; i < runs.Count; i++)
            {
                var sw = Stopwatch.StartNew();
                runs[i]();
                if (round >= WarmUpRounds) t[i].Add(sw.Elapsed.TotalMilliseconds);
            }
        return t.Select(x => x.OrderBy(v => v).ElementAt(x.Count / 2)).ToArray();
    }

    /// <summary>
    /// Prints the tables, then the notes; with a <paramref name="markdown"/> path, also writes them there (tables apart by a
    /// blank line, then the notes), atomically.
    /// </summary>
    public static void Write(string? markdown, IReadOnlyList<(string[] Head, IReadOnlyList<string[]> Rows)> tables, IReadOnlyList<string>? notes = null)
    {
        foreach (var (head, rows) in tables)
        {
            var table = new Table().AddColumns(head).Border(TableBorder.Simple);
            foreach (var r in rows) table.AddRow(r.Select(Markup.Escape).ToArray());
            AnsiConsole.Write(table);
        }
        foreach (var line in notes ?? []) Console.WriteLine(line);
        if (markdown is null) return;
        var sb = new StringBuilder();
        foreach (var (head, rows) in tables)
        {
            if (sb.Length > 0) sb.AppendLine();
            sb.AppendLine("| " + string.Join(" | ", head) + " |");
            sb.AppendLine("|" + string.Concat(head.Select(_ => "---|")));
            foreach (var r in rows) sb.AppendLine("| " + string.Join(" | ", r) + " |");
        }
        if (notes is { Count: > 0 })
        {
            sb.AppendLine();
            foreach (var line in notes) sb.AppendLine(line + "  ");
        }
        Files.AtomicFile.WriteAllBytes(markdown, Encoding.UTF8.GetBytes(sb.ToString()));
    }
}
