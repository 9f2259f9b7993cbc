using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLStyle.ML.Internal;

/// <summary>Column checks with ML.NET's own error wording ("Could not find input column 'X'", "Schema mismatch for …").</summary>
internal static class SchemaChecks
{
    /// <summary>Rows read by <see cref="PixelScale"/>.</summary>
    const int PixelScaleRows = 4;

    /// <summary>
    /// Checks that the first rows of a pixel column look like RGB 0–255 (what ExtractPixels gives by default and what the
    /// backbones expect): pixels scaled to 0–1 (<c>scaleImage: 1/255f</c>, the usual habit with ONNX models) or shifted below 0
    /// (<c>offsetImage</c>) would silently give wrong features.
    /// </summary>
    public static void PixelScale(IDataView input, string column)
    {
        var col = input.Schema.GetColumnOrNull(column);
        if (col is not { Type: VectorDataViewType { ItemType: NumberDataViewType n } } || n.RawType != typeof(float)) return;
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        int rows = 0;
        using (var cursor = input.GetRowCursor(new[] { col.Value }))
        {
            var get = cursor.GetGetter<VBuffer<float>>(col.Value);
            VBuffer<float> v = default;
            while (rows < PixelScaleRows && cursor.MoveNext())
            {
                get(ref v);
                foreach (var x in v.DenseValues())
                {
                    if (x < min) min = x;
                    if (x > max) max = x;
                }
                rows++;
            }
        }
        if (rows == 0 || !float.IsFinite(min) || !float.IsFinite(max)) return;
        if (min < -0.5f)
            throw new ArgumentOutOfRangeException("input", $"The pixels of column '{column}' go down to {min:G3}: MLStyle expects RGB 0–255, " +
                                                           "as ExtractPixels gives by default (remove offsetImage)");
        if (max > 0 && max <= 1.0001f)
            throw new ArgumentOutOfRangeException("input", $"The pixels of column '{column}' are all between 0 and {max:G3} in the first {rows} rows: " +
                                                           "MLStyle expects RGB 0–255, as ExtractPixels gives by default (remove scaleImage: 1/255f)");
    }

    /// <summary>The error ML.NET raises for a missing column.</summary>
    public static ArgumentOutOfRangeException Missing(string role, string column) =>
        new("inputSchema", $"Could not find {role} column '{column}'");

    /// <summary>The error ML.NET raises for a column of the wrong type.</summary>
    public static ArgumentOutOfRangeException Mismatch(string role, string column, string expected, string? actual) =>
        new("inputSchema", $"Schema mismatch for {role} column '{column}': expected {expected}, got {actual}");

    /// <summary>How ML.NET prints the type of a column of a <see cref="SchemaShape"/>.</summary>
    public static string Describe(SchemaShape.Column c) => c.Kind switch
    {
        SchemaShape.Column.VectorKind.Vector => $"Vector<{c.ItemType}>",
        SchemaShape.Column.VectorKind.VariableVector => $"VarVector<{c.ItemType}>",
        _ => c.IsKey ? $"Key<{c.ItemType}>" : c.ItemType?.ToString() ?? "?",
    };

    /// <summary>Finds a column of a schema shape or throws ML.NET's "Could not find" error.</summary>
    public static SchemaShape.Column Find(SchemaShape shape, string column, string role = "input")
    {
        foreach (var c in shape)
            if (c.Name == column) return c;
        throw Missing(role, column);
    }

    /// <summary>Checks that a column of a schema shape is a known-size vector of <see cref="float"/>.</summary>
    public static void CheckFloatVector(SchemaShape shape, string column, string expected, string role = "input")
    {
        var c = Find(shape, column, role);
        if (c.Kind != SchemaShape.Column.VectorKind.Vector || c.ItemType != NumberDataViewType.Single || c.IsKey)
            throw Mismatch(role, column, expected, Describe(c));
    }

    /// <summary>Finds a column of a schema or throws ML.NET's "Could not find" error.</summary>
    public static DataViewSchema.Column Find(DataViewSchema schema, string column, string role = "input") =>
        schema.GetColumnOrNull(column) ?? throw Missing(role, column);

    /// <summary>A known-size float vector column's type, or ML.NET's mismatch error.</summary>
    public static VectorDataViewType FloatVector(DataViewSchema schema, string column, string expected, string role = "input")
    {
        var c = Find(schema, column, role);
        if (c.Type is VectorDataViewType { IsKnownSize: true } v && v.ItemType == NumberDataViewType.Single) return v;
        throw Mismatch(role, column, expected, c.Type.ToString());
    }

    /// <summary>ML.NET's text for <c>Vector&lt;Single, dims&gt;</c>.</summary>
    public static string VectorText(params int[] dims) => new VectorDataViewType(NumberDataViewType.Single, dims).ToString();
}

/// <summary>A planar RGB image size as carried by a pixel vector column.</summary>
internal readonly record struct ImageSize(int Width, int Height)
{
    public int Length => 3 * Width * Height;

    /// <summary>The ONNX tensor shape [1, 3, H, W].</summary>
    public long[] Dims => new long[] { 1, 3, Height, Width };

    /// <summary>The column shape [3, H, W] (that of ExtractPixels).</summary>
    public long[] PlanarDims => new long[] { 3, Height, Width };

    /// <summary>Adds <paramref name="image"/> [1, 3, H, W] to the graph's outputs as <paramref name="name"/> [3, H, W].</summary>
    public void AddPixelOutput(MLStyle.Onnx.GraphBuilder b, string image, string name) =>
        b.AddOutput(b.Identity(b.Reshape(image, PlanarDims), name), MLStyle.Onnx.TensorInfo.Float(PlanarDims));

    public string VectorText => SchemaChecks.VectorText(3, Height, Width);

    /// <summary>
    /// The image size of a pixel column: <paramref name="width"/>×<paramref name="height"/> when given (the column must then be
    /// <c>Vector&lt;Single, 3, H, W&gt;</c> or a flat vector of 3·H·W values), otherwise the size recorded in the column's
    /// dimensions by <c>ExtractPixels</c>.
    /// </summary>
    public static ImageSize Resolve(DataViewSchema schema, string column, int? width, int? height)
    {
        if (width is { } w0 && height is { } h0)
        {
            var want = new ImageSize(w0, h0);
            var v = SchemaChecks.FloatVector(schema, column, want.VectorText);
            var d = v.Dimensions;
            bool ok = v.Size == want.Length && (d.Length == 1 || d.SequenceEqual(new[] { 3, h0, w0 }) || d.SequenceEqual(new[] { 1, 3, h0, w0 }));
            if (!ok) throw SchemaChecks.Mismatch("input", column, want.VectorText, v.ToString());
            return want;
        }
        const string generic = "Vector<Single, 3, H, W> (planar RGB pixels, as from ExtractPixels)";
        var vec = SchemaChecks.FloatVector(schema, column, generic);
        var dims = vec.Dimensions;
        if (dims.Length >= 3 && dims[^3] == 3 && dims.Take(dims.Length - 3).All(x => x == 1))
        {
            var s = new ImageSize(dims[^1], dims[^2]);
            if (width is { } w && w != s.Width || height is { } h && h != s.Height)
                throw SchemaChecks.Mismatch("input", column, new ImageSize(width ?? s.Width, height ?? s.Height).VectorText, vec.ToString());
            return s;
        }
        throw SchemaChecks.Mismatch("input", column, generic, vec.ToString());
    }
}
