using MLStyle.Imaging;
using MLStyle.Onnx;
using MLStyle.Runtime;
using Onnx;

namespace MLStyle.Stylizers;

/// <summary>
/// Runs a feed-forward styliser on images: a <see cref="FastStylizer"/> MLStyle trained, or any file with the model zoo's
/// fast-neural-style interface (one float input <c>[1, 3, H, W]</c> and one output on the 0–255 scale). Owns its ONNX
/// Runtime session; dispose it.
/// </summary>
/// <remarks>
/// A styliser with symbolic height and width takes the image at its size, reflection-padded to a multiple of 4 (the two
/// stride-2 stages) and cropped back; one with a fixed input size gets the image resized to it and the result resized back.
/// The output is clamped to 0–255. A styliser of several styles (<see cref="FastStylizer.StyleWeightsName"/>) takes its blend
/// per call; without one it uses the blend stored in the file (the equal blend, as trained).
/// </remarks>
public sealed class StylizerSession : IDisposable
{
    readonly OnnxSession _session;
    readonly string _input, _output;
    readonly long[] _inputDims;

    /// <summary>Opens a styliser; a clear <see cref="ModelException"/> when it lacks the interface.</summary>
    public StylizerSession(ModelProto model, SessionSettings? settings = null, string source = "styliser")
    {
        var inputs = OnnxModels.RealInputs(model);
        if (inputs.Count != 1) throw new ModelException($"{source} has {inputs.Count} inputs; a styliser needs exactly one image input [1, 3, H, W]");
        if (model.Graph.Output.Count < 1) throw new ModelException($"{source} has no output");
        _input = inputs[0];
        _output = model.Graph.Output[0].Name;
        var info = GraphBuilder.FromValueInfo(model.Graph.Input.First(i => i.Name == _input));
        _inputDims = info?.Dims ?? new long[] { 1, 3, -1, -1 };
        if (_inputDims.Length != 4 || _inputDims[1] is not (3 or -1))
            throw new ModelException($"{source}: input '{_input}' is [{string.Join(", ", _inputDims.Select(d => d < 0 ? "?" : d.ToString()))}], not an RGB image [1, 3, H, W]");
        Styles = FastStylizer.StyleCount(model);
        _session = new OnnxSession(model, settings);
    }

    /// <summary>The styles the styliser holds (1 for a styliser without <see cref="FastStylizer.StyleWeightsName"/>).</summary>
    public int Styles { get; }

    /// <summary>Opens a styliser file.</summary>
    public static StylizerSession Open(string path, SessionSettings? settings = null) =>
        new(OnnxModels.Load(path), settings, $"styliser '{path}'");

    /// <summary>The device the styliser runs on.</summary>
    public ExecutionDevice Device => _session.Device;

    /// <summary>
    /// Stylises one image (any size); the result has the image's size. <paramref name="styleWeights"/>: the blend of a styliser
    /// of several styles, one weight per style, normalised to sum 1 (<see cref="FastStylizer.NormalizeStyleWeights"/>; a
    /// clear <see cref="MLStyleException"/> for a wrong count or bad values); null for the file's default.
    /// </summary>
    public ImageTensor Apply(ImageTensor image, IReadOnlyList<float>? styleWeights = null)
    {
        var weights = styleWeights is null ? null : FastStylizer.NormalizeStyleWeights(styleWeights, Styles);
        int w = image.Width, h = image.Height;
        ImageTensor x;
        if (_inputDims[2] > 0 && _inputDims[3] > 0) x = ImageIO.Resize(image, (int)_inputDims[3], (int)_inputDims[2]);
        else x = ReflectPad(image, (w + 3) / 4 * 4, (h + 3) / 4 * 4);
        var feeds = new Dictionary<string, FloatTensor> { [_input] = new(x.Data, new long[] { 1, 3, x.Height, x.Width }) };
        if (weights is not null) feeds[FastStylizer.StyleWeightsName] = new(weights, new long[] { weights.Length });
        var r = _session.Run(feeds, new[] { _output })[_output];
        if (r.Shape.Length != 4 || r.Shape[1] != 3) throw new ModelException($"the styliser's output is [{string.Join(", ", r.Shape)}], not an RGB image");
        var y = new ImageTensor(r.Data, (int)r.Shape[3], (int)r.Shape[2]);
        if (_inputDims[2] > 0 && _inputDims[3] > 0 || y.Width < w || y.Height < h) y = ImageIO.ResizeUnclamped(y, w, h);
        else if (y.Width != w || y.Height != h) y = Crop(y, w, h);
        y.ClampInPlace();
        return y;
    }

    /// <summary>Pads on the right and bottom by reflection (no edge repeat), to <paramref name="width"/>×<paramref name="height"/>.</summary>
    static ImageTensor ReflectPad(ImageTensor src, int width, int height)
    {
        if (width == src.Width && height == src.Height) return src;
        var dst = new ImageTensor(width, height);
        for (int c = 0; c < 3; c++)
        {
            var s = src.Channel(c); var d = dst.Channel(c);
            for (int y = 0; y < height; y++)
            {
                int sy = Reflect(y, src.Height);
                for (int x = 0; x < width; x++) d[y * width + x] = s[sy * src.Width + Reflect(x, src.Width)];
            }
        }
        return dst;
    }

    static int Reflect(int i, int n) => n == 1 ? 0 : i < n ? i : Math.Max(0, 2 * n - 2 - i);

    static ImageTensor Crop(ImageTensor src, int width, int height)
    {
        var dst = new ImageTensor(width, height);
        for (int c = 0; c < 3; c++)
        {
            var s = src.Channel(c); var d = dst.Channel(c);
            for (int y = 0; y < height; y++) s.Slice(y * src.Width, width).CopyTo(d.Slice(y * width, width));
        }
        return dst;
    }

    /// <inheritdoc />
    public void Dispose() => _session.Dispose();
}
