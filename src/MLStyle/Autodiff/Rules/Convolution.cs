using MLStyle.Onnx;
using Onnx;

namespace MLStyle.Autodiff;

// Conv: input, weight and bias gradients.
public static partial class GradientRules
{
    /// <summary>Formulation of a strided Conv's input gradient (chosen by benchmark; see docs/benchmarks.md).</summary>
    public static ConvInputGradient StridedInputGradient { get; set; } = ConvInputGradient.ConvTranspose;

    /// <summary>Formulation of a stride-1 Conv's input gradient (chosen by benchmark; see docs/benchmarks.md).</summary>
    public static ConvInputGradient StrideOneInputGradient { get; set; } = ConvInputGradient.FlippedConv;

    /// <summary>Formulation of the weight gradient of a Conv whose kernel has at most <see cref="SmallKernelTaps"/> taps
    /// (chosen by benchmark; see docs/benchmarks.md).</summary>
    public static ConvWeightGradient SmallKernelWeightGradient { get; set; } = ConvWeightGradient.Gemm;

    /// <summary>Formulation of the weight gradient of a Conv with a larger kernel (chosen by benchmark; see docs/benchmarks.md).</summary>
    public static ConvWeightGradient LargeKernelWeightGradient { get; set; } = ConvWeightGradient.Conv;

    /// <summary>Kernels with at most this many taps (3×3) use <see cref="SmallKernelWeightGradient"/>.</summary>
    public const long SmallKernelTaps = 9;

    static void RegisterConvolution(Dictionary<string, GradientRule> d)
    {
        d["Conv"] = ConvRule;
    }

    internal sealed record ConvGeometry(int Spatial, long Group, long[] Kernel, long[] Strides, long[] Dilations, long[] Pads);

    internal static ConvGeometry Geometry(GradientContext c, long[] xDims, long[] kernel)
    {
        var n = c.Node;
        int sp = xDims.Length - 2;
        var strides = n.GetInts("strides") ?? Enumerable.Repeat(1L, sp).ToArray();
        var dil = n.GetInts("dilations") ?? Enumerable.Repeat(1L, sp).ToArray();
        var pads = n.GetInts("pads") ?? new long[2 * sp];
        var autoPad = n.GetString("auto_pad", "NOTSET");
        if (autoPad is "SAME_UPPER" or "SAME_LOWER")
        {
            pads = new long[2 * sp];
            for (int i = 0; i < sp; i++)
            {
                long size = xDims[i + 2];
                long total;
                // At stride 1 the output keeps the input size and the padding is eff − 1 whatever the size.
                if (strides[i] == 1) total = (kernel[i] - 1) * dil[i];
                else if (size < 0) throw c.Unsupported("auto_pad SAME with a stride above 1 and an unknown spatial size (the padding depends on it)");
                else
                {
                    long outSize = (size + strides[i] - 1) / strides[i];
                    total = Math.Max(0, (outSize - 1) * strides[i] + (kernel[i] - 1) * dil[i] + 1 - size);
                }
                long small = total / 2, large = total - small;
                pads[i] = autoPad == "SAME_UPPER" ? small : large;
                pads[i + sp] = autoPad == "SAME_UPPER" ? large : small;
            }
        }
        else if (autoPad == "VALID") pads = new long[2 * sp];
        return new ConvGeometry(sp, n.GetInt("group", 1), kernel, strides, dil, pads);
    }

    static string?[] ConvRule(GradientContext c)
    {
        var b = c.B;
        var x = c.X(0); var w = c.X(1);
        var wDims = c.Dims(w);
        var xDims = b.Dims(x) ?? throw c.Unsupported("the rank of the input is unknown");
        var geo = Geometry(c, xDims, c.Node.GetInts("kernel_shape") ?? wDims[2..]);
        var dy = c.DY;
        var g = c.Grads();
        if (c.Needs(0)) g[0] = ConvInputGrad(c, geo, dy, x, w, wDims);
        if (c.Needs(1)) g[1] = ConvWeightGrad(c, geo, dy, x, wDims);
        if (c.Node.Input.Count > 2 && c.Needs(2))
            g[2] = b.ReduceSum(dy, new long[] { 0 }.Concat(Enumerable.Range(2, geo.Spatial).Select(i => (long)i)).ToArray(), keepdims: false);
        return g;
    }

    static string ConvInputGrad(GradientContext c, ConvGeometry geo, string dy, string x, string w, long[] wDims)
    {
        var b = c.B;
        int sp = geo.Spatial;
        bool strideOne = geo.Strides.All(s => s == 1);
        var eff = Enumerable.Range(0, sp).Select(i => (geo.Kernel[i] - 1) * geo.Dilations[i] + 1).ToArray();
        var flippedPads = new long[2 * sp];
        for (int i = 0; i < sp; i++)
        {
            flippedPads[i] = eff[i] - 1 - geo.Pads[i];
            flippedPads[i + sp] = eff[i] - 1 - geo.Pads[i + sp];
        }
        if (strideOne && flippedPads.All(p => p >= 0) && StrideOneInputGradient == ConvInputGradient.FlippedConv)
        {
            var wf = FlippedWeights(b, w, wDims, geo.Group);
            return b.Node("Conv", new[] { dy, wf }, "conv_dx",
                ("pads", flippedPads), ("dilations", geo.Dilations), ("group", geo.Group),
                ("kernel_shape", geo.Kernel), ("strides", Enumerable.Repeat(1L, sp).ToArray()));
        }
        if (!strideOne && StridedInputGradient == ConvInputGradient.SubPixelConv && SubPixelInputGrad(c, geo, dy, x, w, wDims) is { } sub)
            return sub;
        var attrs = new List<(string, object)>
        {
            ("pads", geo.Pads), ("dilations", geo.Dilations), ("group", geo.Group), ("strides", geo.Strides), ("kernel_shape", geo.Kernel),
        };
        var xd = b.Dims(x); var yd = b.Dims(dy);
        if (xd is not null && yd is not null && xd.Skip(2).All(v => v >= 0) && yd.Skip(2).All(v => v >= 0))
        {
            var outPad = new long[sp];
            bool ok = true;
            for (int i = 0; i < sp; i++)
            {
                long produced = geo.Strides[i] * (yd[i + 2] - 1) + eff[i] - geo.Pads[i] - geo.Pads[i + sp];
                outPad[i] = xd[i + 2] - produced;
                if (outPad[i] < 0 || outPad[i] >= Math.Max(geo.Strides[i], geo.Dilations[i])) ok = false;
            }
            if (ok)
            {
                if (outPad.Any(v => v != 0)) attrs.Add(("output_padding", outPad));
                return b.Node("ConvTranspose", new[] { dy, w }, "conv_dx", attrs.ToArray());
            }
        }
        // Unknown sizes: crop only the leading padding and fit the end at run time (see BackToInput).
        return BackToInput(b, dy, w, x, geo, geo.Group);
    }

    /// <summary>
    /// The input gradient of a strided convolution (same stride s on both axes, no dilation, one group, constant 2-D
    /// weights, kernel larger than 1) as one ordinary Conv plus DepthToSpace ("sub-pixel" form): input position i receives
    /// Σ_m W[r + s·m]·dY[q − m] with u = i + pad_begin = q·s + r, so each of the s² phases r is a stride-1 correlation with
    /// a ceil(k/s)-tap sub-kernel; stacking the phases as output channels and DepthToSpace interleaves them.
    /// Returns null when the case does not apply.
    /// </summary>
    static string? SubPixelInputGrad(GradientContext c, ConvGeometry geo, string dy, string x, string w, long[] wDims)
    {
        var b = c.B;
        if (geo.Spatial != 2 || geo.Group != 1 || geo.Dilations.Any(d => d != 1)) return null;
        long s = geo.Strides[0];
        if (geo.Strides[1] != s || s < 2 || geo.Kernel.All(k => k == 1)) return null;
        if (b.ConstantValue(w) is not { } wt) return null;
        long cout = wDims[0], cin = wDims[1], kh = wDims[2], kw = wDims[3];
        long mh = (kh + s - 1) / s, mw = (kw + s - 1) / s;
        var src = TensorProtos.ToFloats(wt);
        // ONNX Runtime's fast blocked (NCHWc) convolution needs a multiple of 16 output channels: pad with zero kernels.
        long phases = s * s * cin, padded = phases % 16 == 0 ? phases : (phases + 15) / 16 * 16;
        var dst = new float[padded * cout * mh * mw];
        for (long ry = 0; ry < s; ry++)
            for (long rx = 0; rx < s; rx++)
                for (long ci = 0; ci < cin; ci++)
                    for (long co = 0; co < cout; co++)
                        for (long jy = 0; jy < mh; jy++)
                            for (long jx = 0; jx < mw; jx++)
                            {
                                long ty = ry + s * (mh - 1 - jy), tx = rx + s * (mw - 1 - jx);
                                if (ty >= kh || tx >= kw) continue;
                                long o = (((((ry * s + rx) * cin + ci) * cout + co) * mh + jy) * mw) + jx;
                                dst[o] = src[((co * cin + ci) * kh + ty) * kw + tx];
                            }
        var kernel = b.Constant(dst, new[] { padded, cout, mh, mw }, w + "_subpixel");
        var z = b.Node("Conv", new[] { dy, kernel }, "conv_dx_phases",
            ("pads", new[] { mh - 1, mw - 1, mh - 1, mw - 1 }), ("kernel_shape", new[] { mh, mw }));
        if (padded != phases) z = b.Slice(z, new[] { 0L }, new[] { phases }, new long[] { 1 });
        var u = b.Node("DepthToSpace", new[] { z }, "conv_dx_interleaved", ("blocksize", s), ("mode", "DCR"));
        var yd = b.Dims(dy);
        if (yd is not null && yd.Skip(2).All(v => v >= 0))
            b.SetInfo(u, new TensorInfo(ElementType.Float, new[] { yd[0], cin, s * (yd[2] + mh - 1), s * (yd[3] + mw - 1) }));
        var cropped = geo.Pads[0] == 0 && geo.Pads[1] == 0 ? u
            : b.Slice(u, new[] { geo.Pads[0], geo.Pads[1] }, new[] { long.MaxValue, long.MaxValue }, new long[] { 2, 3 });
        return b.FitSpatial(cropped, x);
    }

    /// <summary>W'[g·Cig + ci, co, k…] = W[g·Cog + co, ci, flipped k…]: the kernel of the stride-1 input gradient as a Conv.</summary>
    static string FlippedWeights(GraphBuilder b, string w, long[] wDims, long group)
    {
        int sp = wDims.Length - 2;
        long cout = wDims[0], cig = wDims[1], cog = cout / group;
        if (b.ConstantValue(w) is { } wt && sp == 2)
        {
            var src = TensorProtos.ToFloats(wt);
            long kh = wDims[2], kw = wDims[3];
            var dst = new float[src.Length];
            for (long gi = 0; gi < group; gi++)
                for (long co = 0; co < cog; co++)
                    for (long ci = 0; ci < cig; ci++)
                        for (long y = 0; y < kh; y++)
                            for (long xk = 0; xk < kw; xk++)
                            {
                                long s = (((gi * cog + co) * cig + ci) * kh + (kh - 1 - y)) * kw + (kw - 1 - xk);
                                long t = (((gi * cig + ci) * cog + co) * kh + y) * kw + xk;
                                dst[t] = src[s];
                            }
            return b.Constant(dst, new[] { group * cig, cog, kh, kw }, w + "_flipped");
        }
        // Non-constant weights: the same permutation with graph operators.
        var k = wDims[2..];
        var r = b.Reshape(w, new[] { group, cog, cig }.Concat(k).ToArray());
        var perm = new long[] { 0, 2, 1 }.Concat(Enumerable.Range(3, sp).Select(i => (long)i)).ToArray();
        r = b.Transpose(r, perm);
        r = b.Reshape(r, new[] { group * cig, cog }.Concat(k).ToArray());
        var axes = Enumerable.Range(2, sp).Select(i => (long)i).ToArray();
        return b.Slice(r, axes.Select(_ => -1L).ToArray(), axes.Select(_ => long.MinValue).ToArray(), axes, axes.Select(_ => -1L).ToArray());
    }

    static string ConvWeightGrad(GradientContext c, ConvGeometry geo, string dy, string x, long[] wDims)
    {
        long taps = geo.Kernel.Aggregate(1L, (a, k) => a * k);
        var form = taps <= SmallKernelTaps ? SmallKernelWeightGradient : LargeKernelWeightGradient;
        if (form == ConvWeightGradient.Gemm && GemmWeightGrad(c, geo, dy, x, wDims) is { } gemm) return gemm;
        return ConvFormWeightGrad(c, geo, dy, x, wDims);
    }

    /// <summary>
    /// The weight gradient as one matrix product over im2col columns (2-D, one group, known output size):
    /// dW[co, ci, i, j] = Σ_{n,p,q} dY[n, co, p, q] · Xpad[n, ci, i·d + p·s, j·d + q·s]. Each tap (i, j) is a strided Slice of
    /// the padded input, laid out as rows [Cin, N·H'·W']; the k·k taps stacked give [k·k·Cin, N·H'·W'], multiplied by the output
    /// gradient as [N·H'·W', Cout]. Returns null when the case does not apply.
    /// </summary>
    static string? GemmWeightGrad(GradientContext c, ConvGeometry geo, string dy, string x, long[] wDims)
    {
        var b = c.B;
        if (geo.Spatial != 2 || geo.Group != 1) return null;
        var xd = b.Dims(x);
        if (xd is null || xd[2] < 0 || xd[3] < 0) return null;
        long cout = wDims[0], cin = wDims[1], kh = geo.Kernel[0], kw = geo.Kernel[1];
        var outSize = new long[2];
        for (int i = 0; i < 2; i++)
            outSize[i] = (xd[i + 2] + geo.Pads[i] + geo.Pads[i + 2] - (geo.Kernel[i] - 1) * geo.Dilations[i] - 1) / geo.Strides[i] + 1;
        var xt = b.Transpose(x, 1, 0, 2, 3); // [Cin, N, H, W]
        if (geo.Pads.Any(p => p != 0))
            xt = b.Pad(xt, new[] { 0, 0, geo.Pads[0], geo.Pads[1], 0, 0, geo.Pads[2], geo.Pads[3] });
        var columns = new List<string>();
        for (long i = 0; i < kh; i++)
            for (long j = 0; j < kw; j++)
            {
                long y0 = i * geo.Dilations[0], x0 = j * geo.Dilations[1];
                var tap = b.Slice(xt, new[] { y0, x0 },
                    new[] { y0 + geo.Strides[0] * (outSize[0] - 1) + 1, x0 + geo.Strides[1] * (outSize[1] - 1) + 1 },
                    new long[] { 2, 3 }, new[] { geo.Strides[0], geo.Strides[1] });
                columns.Add(b.Reshape(tap, cin, -1)); // [Cin, N·H'·W']
            }
        var cols = columns.Count == 1 ? columns[0] : b.Concat(0, columns.ToArray()); // [k·k·Cin, N·H'·W']
        var dyRows = b.Reshape(b.Transpose(dy, 0, 2, 3, 1), -1, cout);              // [N·H'·W', Cout]
        var dw = b.MatMul(cols, dyRows);                                             // [k·k·Cin, Cout]
        return b.Transpose(b.Reshape(dw, kh, kw, cin, cout), 3, 2, 0, 1);           // [Cout, Cin, kh, kw]
    }

    /// <summary>The weight gradient as a Conv of the input with the output gradient as its kernel, per group.</summary>
    static string ConvFormWeightGrad(GradientContext c, ConvGeometry geo, string dy, string x, long[] wDims)
    {
        var b = c.B;
        int sp = geo.Spatial;
        var swap = new long[] { 1, 0 }.Concat(Enumerable.Range(2, sp).Select(i => (long)i)).ToArray();
        var xt = b.Transpose(x, swap);   // [Cin, N, spatial]
        var dyt = b.Transpose(dy, swap); // [Cout, N, spatial']
        long cout = wDims[0], cig = wDims[1], cog = cout / geo.Group;
        var parts = new List<string>();
        for (long gi = 0; gi < geo.Group; gi++)
        {
            var xg = geo.Group == 1 ? xt : b.Slice(xt, new[] { gi * cig }, new[] { (gi + 1) * cig }, new long[] { 0 });
            var dg = geo.Group == 1 ? dyt : b.Slice(dyt, new[] { gi * cog }, new[] { (gi + 1) * cog }, new long[] { 0 });
            // Kernel dilation = forward stride, stride = forward dilation, same pads.
            var full = b.Node("Conv", new[] { xg, dg }, "conv_dw",
                ("pads", geo.Pads), ("dilations", geo.Strides), ("strides", geo.Dilations));
            var axes = Enumerable.Range(2, sp).Select(i => (long)i).ToArray();
            var crop = b.Slice(full, new long[sp], geo.Kernel, axes); // [Cig, Cog, k…]
            parts.Add(b.Transpose(crop, swap));                       // [Cog, Cig, k…]
        }
        return parts.Count == 1 ? parts[0] : b.Concat(0, parts.ToArray());
    }
}

/// <summary>How the input gradient of a stride-1 convolution is computed.</summary>
public enum ConvInputGradient
{
    /// <summary>An ordinary Conv of the output gradient with spatially flipped, channel-swapped weights.</summary>
    FlippedConv,

    /// <summary>ConvTranspose of the output gradient with the forward weights.</summary>
    ConvTranspose,

    /// <summary>For strided convolutions: one Conv over the stride phases followed by DepthToSpace.</summary>
    SubPixelConv,
}

/// <summary>How the weight gradient of a convolution is computed.</summary>
public enum ConvWeightGradient
{
    /// <summary>A Conv of the input with the output gradient as its kernel.</summary>
    Conv,

    /// <summary>One MatMul of the stacked strided input taps (im2col) with the output gradient (2-D, one group; else <see cref="Conv"/>).</summary>
    Gemm,
}
