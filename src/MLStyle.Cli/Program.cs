using System.Runtime.InteropServices;
using MLStyle;
using MLStyle.Cli;
using MLStyle.Cli.Commands;
using MLStyle.Runtime;

using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (cts.IsCancellationRequested) return; // second Ctrl+C: let the process die
    e.Cancel = true;
    Console.Error.WriteLine("stopping: finishing the current step (press Ctrl+C again to abort)");
    cts.Cancel();
};
// Schedulers stop tasks with SIGTERM (scancel, Slurm time limits and preemption, Kubernetes pod deletion): stop as on
// Ctrl+C, so a batch abandons its images in flight cleanly and a rerun resumes.
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
{
    ctx.Cancel = true;
    if (cts.IsCancellationRequested) return;
    Console.Error.WriteLine("stopping: terminated (SIGTERM), finishing the current step");
    cts.Cancel();
});
SessionFactory.Warning += msg => Output.Warn(msg);

var app = new CommandApp();
app.Configure(c =>
{
    c.SetApplicationName("mlstyle");
    c.UseStrictParsing();
    c.SetHelpProvider(new DefaultCommandHelp(c.Settings));
    c.CancellationExitCode(ExitCodes.Cancelled);
    c.SetExceptionHandler((ex, _) => ExitCodes.Report(ex));
    c.AddCommand<StylizeCommand>("stylize")
        .WithDescription("Stylise an image with the style of one or more others (Gatys et al. 2016).")
        .WithExample("stylize", "--content", "samples/content/chelsea.png", "--style", "samples/style/swirls.png", "--output", "out.png");
    c.AddCommand<DreamCommand>("dream")
        .WithDescription("DeepDream: amplify what a network sees in an image (octaves, jitter, tiles, guided dreams, zoom frames).")
        .WithExample("dream", "--input", "samples/content/chelsea.png", "--output", "dream.png")
        .WithExample("dream", "--input", "big.jpg", "--output", "big-dream.png", "--tile", "512", "--octaves", "2");
    c.AddCommand<TrainCommand>("train")
        .WithDescription("Train a feed-forward styliser (Johnson et al. 2016) on a folder of photos; apply it with 'apply'.")
        .WithExample("train", "--style", "samples/style/swirls.png", "--content", "photos", "--output", "swirls.onnx", "--time-limit", "30m");
    c.AddCommand<ApplyCommand>("apply")
        .WithDescription("Stylise an image in one forward pass of a styliser ('mlstyle train' output or a fast-neural-style ONNX file).")
        .WithExample("apply", "--model", "swirls.onnx", "--input", "samples/content/chelsea.png", "--output", "out.png");
    c.AddCommand<GradCommand>("grad")
        .WithDescription("Differentiate an ONNX model: write a model that also outputs d(sum(Y*Y_seed))/dN.")
        .WithExample("grad", "--model", "m.onnx", "--of", "Y", "--wrt", "X,W", "--output", "g.onnx");
    c.AddCommand<ModelsCommand>("models")
        .WithDescription("List the backbones and their layer names.");
    c.AddBranch("batch", b =>
    {
        b.SetDescription("Process every image of a directory tree, with resume, a manifest and a report.");
        b.AddCommand<BatchStylizeCommand>("stylize")
            .WithDescription("Stylise every image of a directory tree (the options of stylize, plus --input DIR --output DIR).")
            .WithExample("batch", "stylize", "--input", "photos", "--output", "styled", "--style", "samples/style/swirls.png", "--size", "256");
        b.AddCommand<BatchApplyCommand>("apply")
            .WithDescription("Apply a feed-forward styliser to every image of a directory tree (the options of apply, plus --input DIR --output DIR).")
            .WithExample("batch", "apply", "--input", "photos", "--output", "styled", "--model", "swirls.onnx");
        b.AddCommand<BatchDreamCommand>("dream")
            .WithDescription("DeepDream on every image of a directory tree (the options of dream without zoom frames and --dry-run, plus --input DIR --output DIR).")
            .WithExample("batch", "dream", "--input", "photos", "--output", "dreams", "--size", "512");
        b.AddCommand<BatchStatusCommand>("status")
            .WithDescription("The merged state of a batch and its shards: done, failed (with reasons), pending, throughput, time left.")
            .WithExample("batch", "status", "--output", "styled")
            .WithExample("batch", "status", "--output", "styled", "--json");
    });
    c.AddBranch("bench", b =>
    {
        b.SetDescription("Benchmark forward and loss + input-gradient steps of a backbone; 'bench batch': end-to-end style transfer.");
        b.SetDefaultCommand<BenchCommand>();
        b.AddCommand<BenchBatchCommand>("batch")
            .WithDescription("Milliseconds per iteration and peak memory at 256/512/1024 px, and images per minute of a batch with 1 and 2 workers.");
        b.AddCommand<BenchTrainCommand>("train")
            .WithDescription("Styliser training cost: forward, forward + all weight gradients, and a whole training step, per width; --profile per node.");
        b.AddCommand<BenchQualityCommand>("quality")
            .WithDescription("Stylise every content x style pair and measure style match per stage, content kept and grid artefacts; a table and a contact sheet.")
            .WithExample("bench", "quality", "--content", "photos", "--style", "paintings", "--sizes", "256", "--sheet", "sheet.jpg");
    });
});
return app.Run(args, cts.Token);
