using System.Diagnostics;
using System.Text.Json.Nodes;
using MLStyle.Imaging;
using MLStyle.Runtime;

namespace MLStyle.Batch;

/// <summary>Options of a <see cref="BatchRunner"/>.</summary>
public sealed record BatchOptions
{
    /// <summary>Images processed at the same time, each by a worker with its own sessions (default 1).</summary>
    public int Workers { get; init; } = 1;

    /// <summary>
    /// Device and the total ONNX Runtime threads (default: CPU, one per core). The threads are divided between the workers
    /// (see <see cref="BatchRunner.ThreadsPerWorker"/>).
    /// </summary>
    public SessionSettings Session { get; init; } = SessionSettings.Default;

    /// <summary>Image loading options (the pixel limit; default 50 MP).</summary>
    public ImageLoadOptions Load { get; init; } = new();

    /// <summary>Output format, <c>png</c> (default) or <c>jpg</c>; part of the options hash.</summary>
    public string Format { get; init; } = "png";

    /// <summary>JPEG quality 1–100 of <c>jpg</c> outputs (default 95).</summary>
    public int JpegQuality { get; init; } = 95;

    /// <summary>Skip images that an earlier run finished with the same input and options (default true).</summary>
    public bool Resume { get; init; } = true;

    /// <summary>When above 0, keep JPEG thumbnails with this long side of every input and output, for reports (default 0).</summary>
    public int ThumbnailSize { get; init; }

    /// <summary>
    /// The part of the batch this runner does (default: the whole batch). A shard runs only its images, with its own
    /// manifest and lock, so several shards can write into one output directory at once (see <see cref="BatchShard"/>).
    /// </summary>
    public BatchShard Shard { get; init; } = BatchShard.Whole;

    /// <summary>How the caller names the shard option in its advice (e.g. <c>--shard</c>; null: plain words).</summary>
    public string? ShardOptionName { get; init; }
}

/// <summary>Progress of a batch.</summary>
/// <param name="Total">Images in the batch.</param>
/// <param name="Completed">Images finished (done, skipped or failed).</param>
/// <param name="Done">Images written in this run.</param>
/// <param name="Skipped">Images already done by an earlier run.</param>
/// <param name="Failed">Images that failed.</param>
/// <param name="Fraction">Overall fraction done, 0–1, including the images in flight.</param>
/// <param name="Elapsed">Time since the start.</param>
/// <param name="Eta">Estimated time left, when known.</param>
public sealed record BatchProgress(int Total, int Completed, int Done, int Skipped, int Failed, double Fraction, TimeSpan Elapsed, TimeSpan? Eta);

/// <summary>What happened to one image.</summary>
/// <param name="Item">The image.</param>
/// <param name="Entry">Its manifest line.</param>
/// <param name="Result">The job's result (null when skipped or failed before processing).</param>
/// <param name="InputThumbnail">A JPEG thumbnail of the input (when <see cref="BatchOptions.ThumbnailSize"/> is set and it loaded).</param>
/// <param name="OutputThumbnail">A JPEG thumbnail of the output (when set and written).</param>
public sealed record BatchItemOutcome(BatchItem Item, ManifestEntry Entry, ImageJobResult? Result, byte[]? InputThumbnail, byte[]? OutputThumbnail)
{
    /// <summary>The manifest status: ok, failed or skipped.</summary>
    public string Status => Entry.Status;
}

/// <summary>The result of a batch run.</summary>
/// <param name="Total">Images in the batch.</param>
/// <param name="Done">Images written.</param>
/// <param name="Skipped">Images already done by an earlier run.</param>
/// <param name="Failed">Images that failed (each has a manifest line with the error).</param>
/// <param name="Abandoned">Images in flight when the run was cancelled (no output, no manifest line).</param>
/// <param name="Elapsed">Wall time.</param>
/// <param name="Cancelled">True when the run was cancelled before every image was handled.</param>
/// <param name="Outcomes">Every handled image, in completion order.</param>
public sealed record BatchSummary(int Total, int Done, int Skipped, int Failed, int Abandoned, TimeSpan Elapsed, bool Cancelled,
    IReadOnlyList<BatchItemOutcome> Outcomes)
{
    /// <summary>Images written per minute of wall time.</summary>
    public double ImagesPerMinute => Done / Math.Max(1e-9, Elapsed.TotalMinutes);

    /// <summary>Images neither handled nor in flight when the run was cancelled.</summary>
    public int NotStarted => Total - Done - Skipped - Failed - Abandoned;
}

/// <summary>
/// Runs an <see cref="IImageJob"/> over a list of images with one or more workers. It never stops on one bad image: each
/// failure is recorded (manifest line with the error) and the batch goes on. Every output is written atomically and then
/// recorded in <c>manifest.jsonl</c>; a rerun skips the images whose last manifest line says ok (or skipped) with the same
/// input SHA-256 and options hash and whose output exists. Cancelling abandons the images in flight: they leave neither
/// output nor temporary file nor manifest line. One batch at a time writes into an output directory (a lock file).
/// </summary>
public sealed class BatchRunner
{
    readonly IImageJob _job;
    readonly BatchOptions _options;
    readonly string _outputDirectory;
    readonly object _eventLock = new();

    /// <summary>Creates a runner writing into <paramref name="outputDirectory"/> (created when missing).</summary>
    public BatchRunner(IImageJob job, string outputDirectory, BatchOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        _job = job;
        _options = options ?? new BatchOptions();
        if (_options.Workers < 1) throw new MLStyleException($"invalid number of workers {_options.Workers}: must be at least 1");
        if (_options.JpegQuality is < 1 or > 100) throw new MLStyleException($"invalid JPEG quality {_options.JpegQuality}: must be 1 to 100");
        if (!BatchInputs.Formats.Contains(_options.Format.ToLowerInvariant()) && _options.Format.ToLowerInvariant() != "jpeg")
            throw new MLStyleException($"unknown output format '{_options.Format}': use png or jpg");
        _outputDirectory = Path.GetFullPath(outputDirectory);
        OptionsHash = ComputeOptionsHash(job, _options);
    }

    /// <summary>
    /// SHA-256 of the job kind, its <see cref="IImageJob.Options"/>, the model hash and the output format (and JPEG quality):
    /// an image is redone when any of them changes.
    /// </summary>
    public string OptionsHash { get; }

    /// <summary>Raised after each image (done, skipped or failed), one at a time.</summary>
    public event Action<BatchItemOutcome>? ItemCompleted;

    /// <summary>Raised with a one-line warning that does not stop the batch (e.g. unreadable manifest lines).</summary>
    public event Action<string>? Warning;

    /// <summary>Raised with the overall progress (at most every 100 ms, and after each image), one at a time.</summary>
    public event Action<BatchProgress>? ProgressChanged;

    /// <summary>The ONNX Runtime threads each worker gets: the total (0: one per core) divided by the workers, at least 1.</summary>
    public static int ThreadsPerWorker(int totalThreads, int workers) =>
        Math.Max(1, (totalThreads > 0 ? totalThreads : Environment.ProcessorCount) / Math.Max(1, workers));

    /// <summary>Runs the batch.</summary>
    /// <param name="items">The images (see <see cref="BatchInputs.Discover"/>); with <see cref="BatchOptions.Shard"/>, only this shard's are run.</param>
    /// <param name="cancel">Stops the batch: the images in flight are abandoned, the others are not started.</param>
    /// <exception cref="MLStyleException">The output directory or the manifest cannot be written.</exception>
    public BatchSummary Run(IReadOnlyList<BatchItem> items, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        items = _options.Shard.Select(items);
        var sw = Stopwatch.StartNew();
        try
        {
            Directory.CreateDirectory(_outputDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MLStyleException($"cannot create the output directory '{_outputDirectory}': {e.Message.ReplaceLineEndings(" ").TrimEnd('.')}", e);
        }
        using var exclusive = LockOutput();
        _options.Shard.CheckLayout(_outputDirectory, _options.ShardOptionName);
        RemoveStaleTemporaries(items);
        using var manifest = BatchManifest.Open(_outputDirectory, _options.Shard.ManifestFileName);
        if (manifest.UnreadableLines > 0)
            Warning?.Invoke($"{manifest.Path}: {manifest.UnreadableLines} unreadable line{(manifest.UnreadableLines == 1 ? "" : "s")} ignored " +
                            "(not JSON, or without input, output, status or options hash)");

        var state = new RunState(items.Count, Math.Min(_options.Workers, Math.Max(1, items.Count)));
        var session = _options.Session with { Threads = ThreadsPerWorker(_options.Session.Threads, state.Fractions.Length) };
        var threads = Enumerable.Range(0, state.Fractions.Length).Select(w => new Thread(() => WorkerLoop(w, items, manifest, session, state, sw, cancel))
        {
            IsBackground = true,
            Name = $"mlstyle-batch-{w}",
        }).ToList();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        if (state.Fatal is { } fatal) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(fatal).Throw();

        bool cancelled = cancel.IsCancellationRequested && state.Outcomes.Count < items.Count;
        return new BatchSummary(items.Count, state.Done, state.Skipped, state.Failed, state.Abandoned, sw.Elapsed, cancelled, state.Outcomes);
    }

    /// <summary>The name of the lock file that keeps two batches from writing into one output directory at once.</summary>
    public const string LockFileName = ".mlstyle-batch.lock";

    /// <summary>Takes the output directory's lock (released when the run ends or the process dies).</summary>
    FileStream LockOutput()
    {
        var path = Path.Combine(_outputDirectory, _options.Shard.LockFileName);
        if (Files.SafePaths.KindOf(path) is not (Files.FileKind.Missing or Files.FileKind.Regular))
            throw new MLStyleException($"the lock file '{path}' is a symbolic link or not a regular file: move it away");
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (IOException)
        {
            throw new MLStyleException(_options.Shard.IsWhole
                ? $"another batch is writing into '{_outputDirectory}': wait for it to finish, or use another output directory"
                : $"shard {_options.Shard} is already running in '{_outputDirectory}': wait for it to finish");
        }
        catch (UnauthorizedAccessException e)
        {
            throw new MLStyleException($"cannot write into '{_outputDirectory}': {OneLine(e.Message)}", e);
        }
    }

    sealed class RunState(int total, int workers)
    {
        public readonly int Total = total;
        public int Next = -1;
        public int Done, Skipped, Failed, Abandoned, Processed;
        public readonly double[] Fractions = new double[workers];
        public readonly List<BatchItemOutcome> Outcomes = new();
        public long LastReportMs;
        public Exception? Fatal;
    }

    void WorkerLoop(int w, IReadOnlyList<BatchItem> items, BatchManifest manifest, SessionSettings session, RunState state, Stopwatch sw, CancellationToken cancel)
    {
        IImageJobWorker? worker = null;
        try
        {
            while (!cancel.IsCancellationRequested && state.Fatal is null)
            {
                int i = Interlocked.Increment(ref state.Next);
                if (i >= items.Count) break;
                var progress = new Progress(f =>
                {
                    state.Fractions[w] = f;
                    Report(state, sw, force: false);
                });
                var outcome = Process(items[i], manifest, session, ref worker, progress, cancel);
                state.Fractions[w] = 0;
                lock (_eventLock)
                {
                    if (outcome is null) state.Abandoned++;
                    else
                    {
                        switch (outcome.Status)
                        {
                            case ManifestStatus.Ok: state.Done++; state.Processed++; break;
                            case ManifestStatus.Skipped: state.Skipped++; break;
                            default: state.Failed++; state.Processed++; break;
                        }
                        state.Outcomes.Add(outcome);
                        ItemCompleted?.Invoke(outcome);
                    }
                }
                Report(state, sw, force: true);
            }
        }
        catch (Exception e)
        {
            // Only the manifest or an event handler can get here (images report their own failures): stop the batch.
            state.Fatal ??= e;
        }
        finally
        {
            worker?.Dispose();
        }
    }

    void Report(RunState state, Stopwatch sw, bool force)
    {
        if (ProgressChanged is null) return;
        long now = sw.ElapsedMilliseconds;
        if (!force && now - Interlocked.Read(ref state.LastReportMs) < 100) return;
        lock (_eventLock)
        {
            Interlocked.Exchange(ref state.LastReportMs, now);
            int completed = state.Done + state.Skipped + state.Failed;
            double inFlight = state.Fractions.Sum();
            double fraction = state.Total == 0 ? 1 : Math.Clamp((completed + inFlight) / state.Total, 0, 1);
            double work = state.Processed + inFlight;
            TimeSpan? eta = work > 0.05 ? TimeSpan.FromSeconds(sw.Elapsed.TotalSeconds / work * Math.Max(0, state.Total - completed - inFlight)) : null;
            ProgressChanged?.Invoke(new BatchProgress(state.Total, completed, state.Done, state.Skipped, state.Failed, fraction, sw.Elapsed, eta));
        }
    }

    /// <summary>Handles one image; null when it was abandoned by cancellation.</summary>
    BatchItemOutcome? Process(BatchItem item, BatchManifest manifest, SessionSettings session, ref IImageJobWorker? worker,
        IProgress<double> progress, CancellationToken cancel)
    {
        var sw = Stopwatch.StartNew();
        string? sha = null;
        ImageTensor? input = null;
        byte[]? inThumb = null;
        var rel = item.RelativePath;
        var outRel = item.RelativeOutput(_outputDirectory);
        ManifestEntry Entry(string status, string? error, ImageJobResult? r) => new()
        {
            Input = rel, Output = outRel, InputSha256 = sha, OptionsHash = OptionsHash, Status = status, Error = error,
            Kind = _job.Kind, Options = (JsonObject)_job.Options.DeepClone(), Seed = _job.Seed, Model = _job.ModelName, ModelHash = _job.ModelHash,
            Losses = r?.Losses, Iterations = r?.Iterations, LossCurves = r?.LossCurves, Seconds = Math.Round(sw.Elapsed.TotalSeconds, 3),
            PeakMemoryBytes = r is { PeakMemoryBytes: > 0 } ? r.PeakMemoryBytes : System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64, Finished = DateTimeOffset.UtcNow,
        };
        BatchItemOutcome Failed(string error, ImageJobResult? r = null)
        {
            var e = Entry(ManifestStatus.Failed, error, r);
            manifest.Append(e);
            return new BatchItemOutcome(item, e, r, inThumb, null);
        }

        try
        {
            sha = ContentHash.OfFile(item.InputPath);
            if (_options.Resume && manifest.Latest(rel) is { Status: ManifestStatus.Ok or ManifestStatus.Skipped } last
                && last.InputSha256 == sha && last.OptionsHash == OptionsHash && OutputIntact(item.OutputPath, last.OutputSha256))
            {
                var e = Entry(ManifestStatus.Skipped, null, null) with { Losses = last.Losses, Iterations = last.Iterations, OutputSha256 = last.OutputSha256, LossCurves = last.LossCurves };
                manifest.Append(e);
                return new BatchItemOutcome(item, e, null, ThumbnailOfFile(item.InputPath), ThumbnailOfFile(item.OutputPath));
            }
            input = ImageIO.Load(item.InputPath, _options.Load);
            inThumb = Thumbnail(input);
            cancel.ThrowIfCancellationRequested();
            worker ??= _job.CreateWorker(session);
            var result = worker.Run(input, progress, cancel);
            cancel.ThrowIfCancellationRequested();
            CreateDirectory(Path.GetDirectoryName(item.OutputPath)!);
            ImageIO.Save(result.Image, item.OutputPath, _options.JpegQuality);
            if (result.Diverged) return Failed($"optimisation diverged: {result.StopReason}", result);
            if (result.NoProgress) return Failed($"optimisation made no progress: {result.StopReason}", result);
            var ok = Entry(ManifestStatus.Ok, null, result) with { OutputSha256 = ContentHash.OfFile(item.OutputPath) };
            manifest.Append(ok);
            return new BatchItemOutcome(item, ok, result, inThumb, Thumbnail(result.Image));
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return null;
        }
        catch (MLStyleException e)
        {
            return Failed(OneLine(e.Message));
        }
        catch (OutOfMemoryException)
        {
            DisposeWorker(ref worker);
            return Failed("out of memory: try smaller images, fewer workers, or the Adam optimizer");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A bug or a runtime failure on this image: record it and go on with a fresh worker.
            DisposeWorker(ref worker);
            return Failed($"internal error: {e.GetType().Name}: {OneLine(e.Message)}");
        }
    }

    /// <summary>
    /// True when an earlier run's output is still what it wrote: a regular file with the SHA-256 the manifest recorded, or,
    /// for manifests without it, an image that decodes.
    /// </summary>
    bool OutputIntact(string path, string? recordedSha256)
    {
        if (Files.SafePaths.KindOf(path) != Files.FileKind.Regular) return false;
        try
        {
            if (recordedSha256 is not null) return ContentHash.OfFile(path) == recordedSha256;
            ImageIO.Load(path, _options.Load);
            return true;
        }
        catch (MLStyleException)
        {
            return false;
        }
    }

    static void DisposeWorker(ref IImageJobWorker? worker)
    {
        try { worker?.Dispose(); } catch (Exception) { /* already failing: keep the first error */ }
        worker = null;
    }

    static void CreateDirectory(string dir)
    {
        try
        {
            Directory.CreateDirectory(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MLStyleException($"cannot create '{dir}': {OneLine(e.Message)}", e);
        }
    }

    byte[]? Thumbnail(ImageTensor image) => _options.ThumbnailSize > 0 ? Thumbnails.Jpeg(image, _options.ThumbnailSize) : null;

    byte[]? ThumbnailOfFile(string path) => Thumbnails.OfFile(path, _options.ThumbnailSize, _options.Load);

    /// <summary>Deletes the temporary files that a killed run left beside the outputs it was writing.</summary>
    void RemoveStaleTemporaries(IReadOnlyList<BatchItem> items)
    {
        foreach (var group in items.GroupBy(i => Path.GetDirectoryName(i.OutputPath)!))
        {
            if (!Directory.Exists(group.Key)) continue;
            var names = group.Select(i => Path.GetFileName(i.OutputPath)).ToHashSet(StringComparer.Ordinal);
            foreach (var file in Directory.EnumerateFiles(group.Key, ".*.tmp-*"))
            {
                var name = Path.GetFileName(file);
                int cut = name.LastIndexOf(".tmp-", StringComparison.Ordinal);
                if (cut <= 1 || !names.Contains(name[1..cut])) continue;
                try { File.Delete(file); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            }
        }
    }

    static string ComputeOptionsHash(IImageJob job, BatchOptions o)
    {
        var format = o.Format.ToLowerInvariant() == "jpeg" ? "jpg" : o.Format.ToLowerInvariant();
        var node = new JsonObject
        {
            ["kind"] = job.Kind,
            ["options"] = job.Options.DeepClone(),
            ["model_hash"] = job.ModelHash,
            ["format"] = format,
            ["jpeg_quality"] = format == "jpg" ? o.JpegQuality : null,
        };
        return ContentHash.OfJson(node);
    }

    static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();

    sealed class Progress(Action<double> report) : IProgress<double>
    {
        public void Report(double value) => report(value);
    }
}
