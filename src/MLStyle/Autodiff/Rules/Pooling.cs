using MLStyle.Onnx;

namespace MLStyle.Autodiff;

// MaxPool, AveragePool, GlobalAveragePool and nearest Resize.
public static partial class GradientRules
{
    static void RegisterPooling(Dictionary<string, GradientRule> d)
    {
        d["MaxPool"] = MaxPoolRule;
        d["AveragePool"] = AveragePoolRule;
        d["GlobalAveragePool"] = c =>
        {
            var b = c.B;
            var x = c.X(0);
            int r = b.Rank(x);
            var dx = b.ExpandLike(c.DY, x);
            return new[] { b.Div(dx, SpatialCount(b, x, r)) };
        };
        d["Resize"] = ResizeRule;
    }

    /// <summary>H·W·… of a tensor as a float scalar (a constant when known).</summary>
    internal static string SpatialCount(GraphBuilder b, string x, int rank)
    {
        var dims = b.Dims(x);
        if (dims is not null && dims.Skip(2).All(v => v >= 0)) return b.Scalar(dims.Skip(2).Aggregate(1L, (p, v) => p * v));
        var prod = b.Node("ReduceProd", new[] { b.ShapeSlice(x, 2, rank) }, null, ("keepdims", 0));
        return b.Cast(prod, ElementType.Float);
    }

    static string?[] MaxPoolRule(GradientContext c)
    {
        var b = c.B;
        var n = c.Node;
        if (n.GetInt("storage_order", 0) != 0) throw c.Unsupported("storage_order=1");
        if (n.Output.Count < 2 || n.Output[1].Length == 0)
        {
            // Ask the forward MaxPool for the arg-max indices.
            if (n.Output.Count < 2) n.Output.Add(b.UniqueName(n.Output[0] + "_indices"));
            else n.Output[1] = b.UniqueName(n.Output[0] + "_indices");
            b.Infer(n);
        }
        var x = c.X(0);
        var flatIdx = b.Reshape(n.Output[1], -1L);
        var flatDy = b.Reshape(c.DY, -1L);
        var zeros = b.Reshape(b.ZerosLike(x), -1L);
        var scattered = b.Node("ScatterElements", new[] { zeros, flatIdx, flatDy }, "maxpool_dx", ("axis", 0L), ("reduction", "add"));
        return new[] { b.ReshapeLike(scattered, x) };
    }

    static string?[] AveragePoolRule(GradientContext c)
    {
        var b = c.B;
        var n = c.Node;
        var x = c.X(0);
        var xd = c.Dims(x);
        int sp = xd.Length - 2;
        long channels = xd[1];
        if (channels < 0) throw c.Unsupported("the channel count is unknown");
        var kernel = n.GetInts("kernel_shape")!;
        var geo = Geometry(c, xd, kernel);
        bool includePad = n.GetInt("count_include_pad", 0) != 0;
        bool ceil = n.GetInt("ceil_mode", 0) != 0;
        long window = kernel.Aggregate(1L, (p, v) => p * v);
        string scaled;
        if ((includePad || geo.Pads.All(p => p == 0)) && !ceil)
        {
            scaled = b.Mul(c.DY, 1f / window);
        }
        else
        {
            // Divide by the number of real (non-padding) input positions in each window.
            var onesShape = b.Concat(0, b.Ints(1, 1), b.ShapeSlice(x, 2, xd.Length));
            var ones = b.Node("ConstantOfShape", new[] { onesShape }, "ones", ("value", TensorProtos.FromFloats("", new[] { 1f }, 1)));
            var attrs = new List<(string, object)> { ("kernel_shape", kernel), ("strides", geo.Strides), ("pads", geo.Pads), ("count_include_pad", 1L) };
            if (ceil) attrs.Add(("ceil_mode", 1L));
            if (n.GetInts("dilations") is { } dl) attrs.Add(("dilations", dl));
            var frac = b.Node("AveragePool", new[] { ones }, "pool_count", attrs.ToArray());
            scaled = b.Div(c.DY, b.Mul(frac, (float)window));
        }
        var kernelOnes = Enumerable.Repeat(1f, (int)(channels * window)).ToArray();
        var wk = b.Constant(kernelOnes, new[] { channels, 1L }.Concat(kernel).ToArray(), "avgpool_kernel");
        var ct = b.Node("ConvTranspose", new[] { scaled, wk }, "avgpool_dx",
            ("strides", geo.Strides), ("pads", geo.Pads), ("group", channels), ("kernel_shape", kernel), ("dilations", geo.Dilations));
        return new[] { b.FitSpatial(ct, x) };
    }

    static string?[] ResizeRule(GradientContext c)
    {
        var b = c.B;
        var n = c.Node;
        var x = c.X(0);
        var xd = c.Dims(x);
        if (n.GetString("mode", "nearest") != "nearest") throw c.Unsupported("only mode 'nearest' is differentiable");
        string ctm = n.GetString("coordinate_transformation_mode", "half_pixel");
        string nearest = n.GetString("nearest_mode", "round_prefer_floor");
        float[]? scales = null;
        if (n.Input.Count > 2 && n.Input[2].Length > 0 && b.ConstantValue(n.Input[2]) is { } st) scales = TensorProtos.ToFloats(st);
        if ((scales is null || scales.Length == 0) && n.Input.Count > 3 && b.ConstantValue(n.Input[3]) is { } sz)
        {
            var sizes = TensorProtos.ToInt64s(sz);
            if (xd.Any(v => v < 0)) throw c.Unsupported("Resize by 'sizes' needs a known input shape");
            scales = sizes.Select((s, i) => (float)s / xd[i]).ToArray();
        }
        if (scales is null || scales.Length != xd.Length) throw c.Unsupported("Resize needs constant scales");
        if (scales[0] != 1f || scales[1] != 1f || scales.Any(s => s < 1f || s != MathF.Round(s)))
            throw c.Unsupported("only integer spatial upscaling is differentiable");
        bool blockExact = ctm switch
        {
            "asymmetric" => nearest == "floor",
            "half_pixel" or "pytorch_half_pixel" => true,
            _ => false,
        };
        if (!blockExact) throw c.Unsupported($"coordinate_transformation_mode '{ctm}' with nearest_mode '{nearest}' is not a block upscaling");
        var k = scales.Skip(2).Select(s => (long)s).ToArray();
        if (k.All(v => v == 1)) return new[] { c.DY, null, null, null };
        var pooled = b.Node("AveragePool", new[] { c.DY }, "resize_dx", ("kernel_shape", k), ("strides", k));
        var g = c.Grads();
        g[0] = b.Mul(pooled, (float)k.Aggregate(1L, (p, v) => p * v));
        return g;
    }
}
