using System.Diagnostics;
using System.Globalization;
using MLStyle.Batch;
using MLStyle.Engines;
using MLStyle.Imaging;

namespace MLStyle.Cli.Commands;

/// <summary>
/// <c>mlstyle bench batch</c>: end-to-end style transfer speed — milliseconds per iteration and peak memory at chosen sizes,
/// and images per minute of a batch of small synthetic images with 1 and 2 workers — next to the pre-flight estimates.
/// </summary>
public sealed class BenchBatchCommand : Command<BenchBatchCommand.Settings>
{
    /// <summary>Options of <c>mlstyle bench batch</c>.</summary>
    public sealed class Settings : BenchSettings
    {
        [CommandOption("--sizes <SIZES>")]
        [Description("Long sides of the single-image runs (default 256,512,1024), measured in this order.")]
        public string Sizes { get; init; } = "256,512,1024";

        [CommandOption("--iterations <N>")]
        [Description("L-BFGS iterations of each single-image run (default 10); the first is not timed.")]
        public int Iterations { get; init; } = 10;

        [CommandOption("--images <N>")]
        [Description("Synthetic images of the batch runs (default 24).")]
        public int Images { get; init; } = 24;

        [CommandOption("--image-size <PIXELS>")]
        [Description("Long side of the batch images and outputs (default 64).")]
        public int ImageSize { get; init; } = 64;

        [CommandOption("--batch-iterations <N>")]
        [Description("Iterations per batch image (default 10).")]
        public int BatchIterations { get; init; } = 10;

        [CommandOption("--workers <LIST>")]
        [Description("Worker counts of the batch runs (default 1,2).")]
        public string Workers { get; init; } = "1,2";

        /// <inheritdoc />
        public override ValidationResult Validate()
        {
            if (Iterations < 2) return ValidationResult.Error("--iterations must be at least 2");
            if (Images < 1 || BatchIterations < 1 || ImageSize < 16) return ValidationResult.Error("--images, --batch-iterations must be positive and --image-size at least 16");
            return base.Validate();
        }
    }

    /// <inheritdoc />
    public override int Execute(CommandContext context, Settings s, CancellationToken cancel)
    {
        var backbone = s.Backbone();
        var session = s.Session();
        int threads = s.Threads > 0 ? s.Threads : Environment.ProcessorCount;
        var style = Synthetic(256, 256, s.Seed + 1000);
        var content = Synthetic(1600, 1200, s.Seed);
        Output.Info($"bench batch: {backbone.Name}, {threads} threads, device {session.Device}; default layers, L-BFGS history 100");

        var single = new List<string[]>();
        foreach (var size in BackboneSettings.Ints(s.Sizes, "--sizes").OrderBy(x => x))
        {
            cancel.ThrowIfCancellationRequested();
            var options = new StyleTransferOptions { Size = size, Iterations = s.Iterations, Tolerance = 0, Seed = s.Seed };
            var times = new List<TimeSpan>();
            var engine = new StyleTransferEngine(backbone, session);
            var sw = Stopwatch.StartNew();
            var r = engine.Run(content, [style], options, new SyncProgress<StyleProgress>(p => times.Add(p.Elapsed)), cancel);
            double perIteration = (times[^1] - times[0]).TotalMilliseconds / Math.Max(1, times.Count - 1);
            double setup = (r.Elapsed.TotalMilliseconds - perIteration * r.Iterations) / 1000;
            var estimate = Preflight.Estimate(backbone, options, content.Width, content.Height);
            double estPerIteration = estimate.Iterating.TotalMilliseconds / options.Iterations;
            single.Add([$"{r.Image.Width}x{r.Image.Height}", $"{perIteration:F0}", $"{estPerIteration:F0}", $"{setup:F1}",
                        Output.Bytes(r.PeakMemoryBytes), Output.Bytes(estimate.PeakBytes)]);
            Output.Info($"  {r.Image.Width}x{r.Image.Height}: {perIteration:F0} ms/iteration (estimate {estPerIteration:F0}), setup {setup:F1} s, " +
                        $"peak {Output.Bytes(r.PeakMemoryBytes)} (estimate {Output.Bytes(estimate.PeakBytes)})");
        }

        var batch = new List<string[]>();
        var root = Path.Combine(Path.GetTempPath(), $"mlstyle-bench-{Guid.NewGuid():N}");
        try
        {
            var input = Path.Combine(root, "in");
            Directory.CreateDirectory(input);
            var rng = new Random(s.Seed);
            for (int i = 0; i < s.Images; i++)
                ImageIO.Save(Synthetic(s.ImageSize + rng.Next(0, s.ImageSize / 2), s.ImageSize, s.Seed + i), Path.Combine(input, $"img{i:D3}.png"));
            var options = new StyleTransferOptions { Size = s.ImageSize, Iterations = s.BatchIterations, Tolerance = 0, Seed = s.Seed };
            var job = new StyleTransferJob(backbone, [style], ["synthetic"], options);
            foreach (var workers in BackboneSettings.Ints(s.Workers, "--workers"))
            {
                cancel.ThrowIfCancellationRequested();
                var output = Path.Combine(root, $"out{workers}");
                var items = BatchInputs.Discover(input, output);
                var summary = new BatchRunner(job, output, new BatchOptions { Workers = workers, Session = session with { Threads = threads } }).Run(items, cancel);
                if (summary.Failed > 0) throw new InvalidOperationException($"{summary.Failed} synthetic images failed");
                batch.Add([$"{workers}", $"{BatchRunner.ThreadsPerWorker(threads, workers)}", $"{s.Images}", $"{summary.Elapsed.TotalSeconds:F1}",
                           $"{summary.ImagesPerMinute:F1}", Output.Bytes(Process.GetCurrentProcess().PeakWorkingSet64)]);
                Output.Info($"  batch of {s.Images} {s.ImageSize} px images, {workers} worker(s): {summary.ImagesPerMinute:F1} images/min");
            }
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }

        string[] singleHead = ["size", "ms/iteration", "estimate", "setup s", "peak RSS", "estimate"];
        string[] batchHead = ["workers", "threads each", "images", "seconds", "images/min", "process peak RSS"];
        Benchmarks.Write(s.Markdown, [(singleHead, single), (batchHead, batch)]);
        return ExitCodes.Ok;
    }

    /// <summary>A smooth, colourful synthetic image (deterministic for a seed).</summary>
    static ImageTensor Synthetic(int width, int height, int seed)
    {
        var rng = new Random(seed);
        double fx = 0.01 + rng.NextDouble() * 0.05, fy = 0.01 + rng.NextDouble() * 0.05, ph = rng.NextDouble() * 6;
        var t = new ImageTensor(width, height);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                t[0, y, x] = (float)(127.5 + 127.5 * Math.Sin(x * fx + ph));
                t[1, y, x] = (float)(127.5 + 127.5 * Math.Sin(y * fy + 2 * ph));
                t[2, y, x] = (float)(127.5 + 127.5 * Math.Sin((x + y) * (fx + fy) / 2));
            }
        return t;
    }
}
