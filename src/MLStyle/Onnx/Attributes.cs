using Google.Protobuf;
using Onnx;

namespace MLStyle.Onnx;

/// <summary>Reading and writing ONNX node attributes.</summary>
internal static class Attributes
{
    /// <summary>Builds an attribute from a .NET value (int/long, float/double, string, int[]/long[], float[], TensorProto, GraphProto).</summary>
    public static AttributeProto Make(string name, object value)
    {
        var a = new AttributeProto { Name = name };
        switch (value)
        {
            case int i: a.Type = AttributeProto.Types.AttributeType.Int; a.I = i; break;
            case long l: a.Type = AttributeProto.Types.AttributeType.Int; a.I = l; break;
            case float f: a.Type = AttributeProto.Types.AttributeType.Float; a.F = f; break;
            case double d: a.Type = AttributeProto.Types.AttributeType.Float; a.F = (float)d; break;
            case string s: a.Type = AttributeProto.Types.AttributeType.String; a.S = ByteString.CopyFromUtf8(s); break;
            case int[] ia: a.Type = AttributeProto.Types.AttributeType.Ints; a.Ints.AddRange(ia.Select(x => (long)x)); break;
            case long[] la: a.Type = AttributeProto.Types.AttributeType.Ints; a.Ints.AddRange(la); break;
            case float[] fa: a.Type = AttributeProto.Types.AttributeType.Floats; a.Floats.AddRange(fa); break;
            case TensorProto t: a.Type = AttributeProto.Types.AttributeType.Tensor; a.T = t; break;
            case GraphProto g: a.Type = AttributeProto.Types.AttributeType.Graph; a.G = g; break;
            default: throw new ArgumentException($"unsupported attribute value type {value.GetType().Name} for '{name}'");
        }
        return a;
    }

    /// <summary>Finds an attribute by name.</summary>
    public static AttributeProto? Find(this NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name);

    /// <summary>An integer attribute, or <paramref name="fallback"/>.</summary>
    public static long GetInt(this NodeProto node, string name, long fallback) => node.Find(name) is { } a ? a.I : fallback;

    /// <summary>A float attribute, or <paramref name="fallback"/>.</summary>
    public static float GetFloat(this NodeProto node, string name, float fallback) => node.Find(name) is { } a ? a.F : fallback;

    /// <summary>A string attribute, or <paramref name="fallback"/>.</summary>
    public static string GetString(this NodeProto node, string name, string fallback) => node.Find(name) is { } a ? a.S.ToStringUtf8() : fallback;

    /// <summary>An integer-list attribute, or null.</summary>
    public static long[]? GetInts(this NodeProto node, string name) => node.Find(name) is { } a ? a.Ints.ToArray() : null;

    /// <summary>A float-list attribute, or null.</summary>
    public static float[]? GetFloats(this NodeProto node, string name) => node.Find(name) is { } a ? a.Floats.ToArray() : null;

    /// <summary>Sets (replacing) an attribute.</summary>
    public static void Set(this NodeProto node, string name, object value)
    {
        node.Remove(name);
        node.Attribute.Add(Make(name, value));
    }

    /// <summary>Removes an attribute if present.</summary>
    public static void Remove(this NodeProto node, string name)
    {
        for (int i = node.Attribute.Count - 1; i >= 0; i--)
            if (node.Attribute[i].Name == name) node.Attribute.RemoveAt(i);
    }

    /// <summary>A short description of a node for error messages.</summary>
    public static string Describe(this NodeProto node) =>
        $"{node.OpType} node '{(string.IsNullOrEmpty(node.Name) ? string.Join(",", node.Output) : node.Name)}'";
}
