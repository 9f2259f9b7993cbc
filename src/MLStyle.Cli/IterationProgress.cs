
namespace MLStyle.Cli;

/// <summary>
/// Progress of an iterative job: a Spectre.Console progress bar on a terminal, or a plain line every 5 % in logs.
/// </summary>
public sealed class IterationProgress
{
    /// <summary>Runs <paramref name="work"/> with a progress callback (fraction 0–1, one-line status, ETA).</summary>
    public static T Run<T>(string title, Func<Action<double, string, TimeSpan?>, T> work)
    {
        if (!Output.Interactive)
        {
            int lastBucket = -1;
            return work((fraction, status, eta) =>
            {
                int bucket = (int)Math.Floor(fraction * 20);
                if (bucket == lastBucket && fraction < 1) return;
                lastBucket = bucket;
                Output.Info($"{title}: {fraction * 100,5:F1}% {status}{(eta is { } e ? $", ETA {Output.Duration(e)}" : "")}");
            });
        }
        T result = default!;
        Output.Stderr.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                     new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(title), maxValue: 1000);
                result = work((fraction, status, _) =>
                {
                    task.Value = Math.Clamp(fraction, 0, 1) * 1000;
                    task.Description = Markup.Escape($"{title} {status}");
                });
                task.Value = 1000;
            });
        return result;
    }
}
