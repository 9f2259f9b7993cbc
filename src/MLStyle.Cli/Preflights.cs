using MLStyle.Backbones;
using MLStyle.Engines;
using MLStyle.Imaging;

namespace MLStyle.Cli;

/// <summary>Pre-flight checks of the commands: header probes, memory plans, and the <c>--dry-run</c> printout.</summary>
public static class Preflights
{
    /// <summary>Reads an image's header and applies the pixel limit, without decoding it.</summary>
    /// <exception cref="ImageLoadException">Unreadable, not an image, or above the pixel limit.</exception>
    public static ImageInfo ProbeChecked(string path, ImageLoadOptions load)
    {
        var info = ImageIO.Probe(path);
        if (load.MaxPixels > 0 && info.PixelCount > load.MaxPixels)
            ImageIO.Load(path, load); // throws the loader's own one-line message, before any pixel memory is allocated
        return info;
    }

    /// <summary>Checks a DeepDream run against the memory limit (<see cref="Preflight.PlanDream"/>), advising in flags.</summary>
    /// <exception cref="MemoryLimitException">The estimate exceeds the limit.</exception>
    public static PreflightEstimate PlanDream(Backbone backbone, DeepDreamOptions options, int width, int height, long limit)
    {
        try
        {
            return Preflight.PlanDream(backbone, options, width, height, limit);
        }
        catch (MemoryLimitException e)
        {
            throw new MemoryLimitException($"{e.Need}: use {(options.Tile > 0 ? "a smaller --tile" : "--tile 512")} or a smaller --size, or raise --max-memory", e.Need);
        }
    }

    /// <summary>
    /// Plans a run against the memory limit, printing the estimate (on stdout for a dry run, else on stderr only when it
    /// falls back to lighter options, with a warning).
    /// </summary>
    /// <exception cref="MemoryLimitException">Even the lightest fallback does not fit.</exception>
    public static PreflightPlan Plan(Backbone backbone, StyleTransferOptions options, int width, int height, long limit, int workers, int styleCount, bool dryRun)
    {
        PreflightPlan plan;
        try
        {
            plan = Preflight.Plan(backbone, options, width, height, limit, workers, styleCount);
        }
        catch (MemoryLimitException) when (dryRun)
        {
            Console.WriteLine(Describe(Preflight.Estimate(backbone, options, width, height, styleCount), workers, limit));
            throw;
        }
        if (dryRun)
        {
            Console.WriteLine(Describe(plan.Requested, workers, limit));
            if (plan.Fallback is not null) Console.WriteLine($"fallback: {plan.Fallback}");
        }
        else if (plan.Fallback is not null)
        {
            Output.Warn(plan.Fallback);
        }
        return plan;
    }

    /// <summary>One line describing an estimate.</summary>
    public static string Describe(PreflightEstimate e, int workers, long limit) =>
        $"estimate: {e.Width}x{e.Height}, {e.Optimizer}{(e.History > 0 ? $" history {e.History}" : "")}" +
        $"{(workers > 1 ? $", {workers} workers" : "")}: peak memory ~{Preflight.Bytes(e.PeakBytesWith(workers))} " +
        $"(base {Preflight.Bytes(e.BaseBytes)}, per image: weights {Preflight.Bytes(e.WeightBytes)}, activations {Preflight.Bytes(e.ActivationBytes)}, " +
        $"optimizer {Preflight.Bytes(e.OptimizerBytes)}, images {Preflight.Bytes(e.ImageBytes)}; building {Preflight.Bytes(e.SetupBytes)}); " +
        $"time per image ~{Seconds(e.Time)} (setup {e.Setup.TotalSeconds:F1} s); memory limit {Preflight.Bytes(limit)}";

    static string Seconds(TimeSpan t) => t.TotalSeconds < 60 ? $"{t.TotalSeconds:F1} s" : Output.Duration(t);
}
