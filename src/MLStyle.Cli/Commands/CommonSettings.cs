using System.Globalization;
using MLStyle.Backbones;
using MLStyle.Engines;
using MLStyle.Imaging;
using MLStyle.Losses;
using MLStyle.Runtime;

namespace MLStyle.Cli.Commands;

/// <summary>The check of the options a command cannot do without.</summary>
public static class RequiredOptions
{
    /// <summary>The error naming the first option without a value (<c>--input is required</c>), or null when all have one.</summary>
    public static Spectre.Console.ValidationResult? Missing(params (string? Value, string Option)[] options)
    {
        foreach (var (value, option) in options)
            if (string.IsNullOrWhiteSpace(value)) return Spectre.Console.ValidationResult.Error($"{option} is required");
        return null;
    }
}

/// <summary>Options shared by the commands that run ONNX Runtime on images: device, threads, the input size limit.</summary>
public class RuntimeSettings : CommandSettings
{
    [CommandOption("--device <DEVICE>")]
    [Description("cpu (default), cuda or cuda:N. Without CUDA: one warning, then the CPU.")]
    public string Device { get; init; } = "cpu";

    [CommandOption("--threads <N>")]
    [Description("ONNX Runtime threads (default: one per core).")]
    public int Threads { get; init; }

    [CommandOption("--max-pixels <N>")]
    [Description("Refuse input images with more pixels than this, checked from the header (default 50000000).")]
    public long MaxPixels { get; init; } = Imaging.ImageLoadOptions.DefaultMaxPixels;

    /// <summary>How images are loaded: the --max-pixels limit, named as the option that raises it.</summary>
    public ImageLoadOptions LoadOptions() => new() { MaxPixels = MaxPixels, MaxPixelsName = "--max-pixels" };

    /// <summary>The session settings these options describe.</summary>
    public SessionSettings Session() => new() { Device = ExecutionDevice.Parse(Device), Threads = Threads };

    /// <inheritdoc />
    public override Spectre.Console.ValidationResult Validate()
    {
        if (Threads < 0 || Threads > MLStyle.Runtime.SessionSettings.MaxThreads)
            return Spectre.Console.ValidationResult.Error($"invalid --threads {Threads}: must be 0 (one per core) to {MLStyle.Runtime.SessionSettings.MaxThreads}");
        if (MaxPixels <= 0) return Spectre.Console.ValidationResult.Error($"invalid --max-pixels {MaxPixels}");
        return base.Validate();
    }
}

/// <summary>Options shared by the commands that run a backbone.</summary>
public class BackboneSettings : RuntimeSettings
{
    [CommandOption("--model <MODEL>")]
    [Description("Backbone: resnet18 (embedded, default), vgg16/vgg19 (a models/vgg19*.onnx file) or a path to an .onnx CNN.")]
    public string Model { get; init; } = "resnet18";

    [CommandOption("--models-dir <DIR>")]
    [Description("Where --model vgg19 and the like are looked up (default: ./models).")]
    public string? ModelsDir { get; init; }

    [CommandOption("--pooling <MODE>")]
    [Description("VGG pooling: max (default) or avg (Gatys' choice).")]
    public string Pooling { get; init; } = "max";

    [CommandOption("--seed <N>")]
    [Description("Random seed: the same seed on the same machine gives the same output (default 0).")]
    public int Seed { get; init; }

    /// <summary>The backbone these options describe.</summary>
    public Backbone Backbone() => BackboneFactory.Resolve(Model, ModelsDir, Pooling.ToLowerInvariant() switch
    {
        "max" => VggPooling.Max,
        "avg" or "average" => VggPooling.Average,
        _ => throw new MLStyleException($"invalid --pooling '{Pooling}': use max or avg"),
    });

    /// <summary>Parses a number given to <paramref name="option"/> (invariant culture); null stays null.</summary>
    public static float? Float(string? text, string option) =>
        text is null ? null
        : float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && float.IsFinite(v) ? v
        : throw new MLStyleException($"invalid {option} '{text}': expected a number");

    /// <summary>Parses a comma-separated list of numbers (invariant culture).</summary>
    public static IReadOnlyList<float> Floats(string text, string option) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && float.IsFinite(v)
                ? v : throw new MLStyleException($"invalid {option} value '{s}': expected numbers separated by commas"))
            .ToList();

    /// <summary>Parses a comma-separated list of integers.</summary>
    public static IReadOnlyList<int> Ints(string text, string option) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
                ? v : throw new MLStyleException($"invalid {option} value '{s}': expected whole numbers separated by commas"))
            .ToList();
}

/// <summary>The options of the style objective (weights, layers, smoothing), shared by the commands that use it.</summary>
public class ObjectiveSettings : BackboneSettings
{
    [CommandOption("--content-weight <W>")]
    [Description("Content loss weight (default: the backbone's).")]
    public string? ContentWeight { get; init; }

    [CommandOption("--style-weight <W>")]
    [Description("Style loss weight (default: the backbone's).")]
    public string? StyleWeight { get; init; }

    [CommandOption("--tv-weight <W>")]
    [Description("Total-variation weight (default: the backbone's).")]
    public string? TvWeight { get; init; }

    [CommandOption("--content-layers <LAYERS>")]
    [Description("Content layers with optional weights, e.g. layer2.1 or relu4_2:1.")]
    public string? ContentLayers { get; init; }

    [CommandOption("--style-layers <LAYERS>")]
    [Description("Style layers with optional weights, e.g. conv1,layer1.1:0.5.")]
    public string? StyleLayers { get; init; }

    [CommandOption("--smoothing <MODE>")]
    [Description("Activation smoothing before the losses: none or softmax (Wang et al. 2021). Default: the backbone's.")]
    public string? Smoothing { get; init; }

    [CommandOption("--input-blur <TAPS>")]
    [Description("Binomial blur the backbone sees the image through, against stride grids: 0 (none), 3 or 5 taps. Default: 5 in training (fewer stripes, see docs/fast-style.md).")]
    public int? InputBlur { get; init; }

    /// <summary>The parsed content layers, or null for the backbone's.</summary>
    public IReadOnlyList<WeightedLayer>? ContentLayerList() => ContentLayers is null ? null : WeightedLayer.ParseList(ContentLayers);

    /// <summary>The parsed style layers, or null for the backbone's.</summary>
    public IReadOnlyList<WeightedLayer>? StyleLayerList() => StyleLayers is null ? null : WeightedLayer.ParseList(StyleLayers);

    /// <summary>The smoothing mode, or null for the backbone's.</summary>
    public ActivationSmoothing? SmoothingMode() => Smoothing?.ToLowerInvariant() switch
    {
        null => null,
        "none" => ActivationSmoothing.None,
        "softmax" or "swag" => ActivationSmoothing.Softmax,
        _ => throw new MLStyleException($"invalid --smoothing '{Smoothing}': use none or softmax"),
    };
}

/// <summary>Options of the commands that estimate their memory and time before they run (stylize, dream, batch stylize).</summary>
public class PreflightSettings : BackboneSettings
{
    [CommandOption("--dry-run")]
    [Description("Print the pre-flight estimate (peak memory, time) and exit without running.")]
    public bool DryRun { get; init; }

    [CommandOption("--max-memory <SIZE>")]
    [Description("Memory the run may use, e.g. 8GiB (default: the machine's). Above it, stylize falls back to a shorter L-BFGS history, then Adam; what still does not fit is refused (exit 5).")]
    public string? MaxMemory { get; init; }

    /// <summary>The memory limit: --max-memory, or the machine's available memory.</summary>
    public long MemoryLimit() => MaxMemory is null ? Preflight.AvailableMemoryBytes() : ByteSizes.Parse(MaxMemory);
}
