using MLStyle.Backbones;
using MLStyle.Onnx;
using Onnx;

namespace MLStyle.Losses;

/// <summary>
/// The losses of neural style transfer, written as ONNX graph fragments (so MLStyle differentiates them like the network).
/// Every function takes a <see cref="GraphBuilder"/> and tensor names and returns the name of its result.
/// </summary>
public static class StyleLosses
{
    /// <summary>
    /// Applies <paramref name="mode"/> to features <c>[1, C, h, w]</c>. <see cref="ActivationSmoothing.Softmax"/> is a softmax over
    /// each channel's positions, rescaled by h·w so a flat map stays 1 (which keeps magnitudes independent of image size).
    /// </summary>
    public static string Smooth(GraphBuilder b, string features, ActivationSmoothing mode)
    {
        if (mode == ActivationSmoothing.None) return features;
        var flat = Flatten3(b, features);
        var sm = b.Node("Softmax", new[] { flat }, "swag", ("axis", 2L));
        var scaled = b.Mul(sm, b.ElementCount(features, 2));
        return b.ReshapeLike(scaled, features);
    }

    /// <summary>Reshapes <c>[N, C, h, w]</c> to <c>[N, C, h·w]</c>.</summary>
    static string Flatten3(GraphBuilder b, string features) => b.Reshape(features, 0, 0, -1);

    /// <summary>The Gram matrix <c>[N, C, C]</c> = F·Fᵀ / (C·h·w) of features <c>[N, C, h, w]</c>.</summary>
    public static string Gram(GraphBuilder b, string features)
    {
        var f = Flatten3(b, features);
        var g = b.MatMul(f, b.Transpose(f, 0, 2, 1));
        return b.Div(g, b.ElementCount(features, 1));
    }

    /// <summary>Content loss: the mean squared difference between features and their target.</summary>
    public static string ContentLoss(GraphBuilder b, string features, string target) =>
        b.ReduceMean(b.Square(b.Sub(features, target)), null, keepdims: false);

    /// <summary>Style loss of one layer as Gatys et al.: ¼·Σ(G − A)² with both Gram matrices normalised by C·h·w.</summary>
    public static string StyleLoss(GraphBuilder b, string gram, string target) =>
        b.Mul(b.ReduceSum(b.Square(b.Sub(gram, target)), null, keepdims: false), 0.25f);

    /// <summary>Total variation: the mean over pixels of the squared differences to the right and lower neighbours (0–255 scale /255).</summary>
    public static string TotalVariation(GraphBuilder b, string image)
    {
        var x = b.Mul(image, 1f / 255f);
        var dh = b.Sub(b.Slice(x, new[] { 1L }, new[] { long.MaxValue }, new long[] { 2 }), b.Slice(x, new[] { 0L }, new[] { -1L }, new long[] { 2 }));
        var dw = b.Sub(b.Slice(x, new[] { 1L }, new[] { long.MaxValue }, new long[] { 3 }), b.Slice(x, new[] { 0L }, new[] { -1L }, new long[] { 3 }));
        var sh = b.ReduceSum(b.Square(dh), null, keepdims: false);
        var sw = b.ReduceSum(b.Square(dw), null, keepdims: false);
        return b.Div(b.Add(sh, sw), b.ElementCount(image, 2));
    }

    /// <summary>The two chroma channels B − Y and R − Y (Y = 0.299R + 0.587G + 0.114B) of the chroma total variation.</summary>
    static readonly float[] ChromaRows = { -0.299f, -0.587f, 0.886f, 0.701f, -0.587f, -0.114f };

    /// <summary>
    /// Chroma total variation: <see cref="TotalVariation"/> of the two chroma channels B − Y and R − Y of <paramref name="image"/>
    /// (<c>[N, 3, H, W]</c>, 0–255; a 1×1 convolution), so a colour pattern whose channels alternate out of phase — pixel-scale
    /// colour fringes or hatching — costs more than a luminance edge of the same contrast.
    /// </summary>
    public static string ChromaTotalVariation(GraphBuilder b, string image)
    {
        var chroma = b.Node("Conv", new[] { image, b.Constant(ChromaRows, new long[] { 2, 3, 1, 1 }, "chroma_rows") }, "chroma");
        return TotalVariation(b, chroma);
    }

    /// <summary>
    /// Makes <paramref name="model"/> read its input <paramref name="input"/> (<c>[N, 3, H, W]</c>) through a separable binomial
    /// blur of <paramref name="taps"/> taps (3 or 5), reflect-padded so the size stays: a depthwise convolution placed first.
    /// </summary>
    public static void BlurInput(ModelProto model, string input, int taps)
    {
        var row = Imaging.BinomialKernel.Of(taps);
        var kernel = new float[3 * taps * taps];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < taps; y++)
                for (int x = 0; x < taps; x++)
                    kernel[(c * taps + y) * taps + x] = row[y] * row[x];
        var consumers = model.Graph.Node.ToList();
        int before = consumers.Count;
        var b = new GraphBuilder(model);
        long r = taps / 2;
        var padded = b.Pad(input, new[] { 0, 0, r, r, 0, 0, r, r }, "reflect");
        var blurred = b.Node("Conv", new[] { padded, b.Constant(kernel, new long[] { 3, 1, taps, taps }, "input_blur") }, "blurred_input", ("group", 3L));
        var added = model.Graph.Node.Skip(before).ToList();
        foreach (var n in consumers)
            for (int i = 0; i < n.Input.Count; i++)
                if (n.Input[i] == input) n.Input[i] = blurred;
        foreach (var n in added) model.Graph.Node.Remove(n);
        for (int i = 0; i < added.Count; i++) model.Graph.Node.Insert(i, added[i]);
    }

    /// <summary>Weighted sum of scalar terms (the first term when there is one weight of 1).</summary>
    public static string WeightedSum(GraphBuilder b, IReadOnlyList<(string Term, float Weight)> terms)
    {
        if (terms.Count == 0) return b.Scalar(0f);
        return b.Sum(terms.Select(t => b.Mul(t.Term, t.Weight)).ToList());
    }
}
