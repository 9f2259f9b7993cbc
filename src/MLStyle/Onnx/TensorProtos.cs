using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace MLStyle.Onnx;

/// <summary>ONNX element types used by MLStyle (values of <c>TensorProto.DataType</c>).</summary>
public static class ElementType
{
    public const int Float = 1;
    public const int UInt8 = 2;
    public const int Int8 = 3;
    public const int Int32 = 6;
    public const int Int64 = 7;
    public const int Bool = 9;
    public const int Float16 = 10;
    public const int Double = 11;
}

/// <summary>Conversions between <see cref="TensorProto"/> and .NET arrays.</summary>
public static class TensorProtos
{
    /// <summary>Creates a float tensor.</summary>
    public static TensorProto FromFloats(string name, ReadOnlySpan<float> data, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = ElementType.Float };
        t.Dims.AddRange(dims);
        t.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data));
        return t;
    }

    /// <summary>Creates an int64 tensor.</summary>
    public static TensorProto FromInt64s(string name, ReadOnlySpan<long> data, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = ElementType.Int64 };
        t.Dims.AddRange(dims);
        t.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data));
        return t;
    }

    /// <summary>The tensor's shape.</summary>
    public static long[] Shape(TensorProto t) => t.Dims.ToArray();

    /// <summary>Number of elements.</summary>
    public static long Count(TensorProto t)
    {
        long n = 1;
        foreach (var d in t.Dims) n *= d;
        return n;
    }

    /// <summary>Reads a float tensor (raw or typed storage).</summary>
    public static float[] ToFloats(TensorProto t)
    {
        if (t.DataType == ElementType.Float)
        {
            if (!t.RawData.IsEmpty) return MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();
            return t.FloatData.ToArray();
        }
        if (t.DataType == ElementType.Double)
        {
            if (!t.RawData.IsEmpty) return MemoryMarshal.Cast<byte, double>(t.RawData.Span).ToArray().Select(v => (float)v).ToArray();
            return t.DoubleData.Select(v => (float)v).ToArray();
        }
        throw new ModelException($"tensor '{t.Name}' has element type {t.DataType}, expected float");
    }

    /// <summary>Reads an integer tensor (int64 or int32) as int64 values.</summary>
    public static long[] ToInt64s(TensorProto t)
    {
        if (t.DataType == ElementType.Int64)
        {
            if (!t.RawData.IsEmpty) return MemoryMarshal.Cast<byte, long>(t.RawData.Span).ToArray();
            return t.Int64Data.ToArray();
        }
        if (t.DataType == ElementType.Int32)
        {
            if (!t.RawData.IsEmpty) return MemoryMarshal.Cast<byte, int>(t.RawData.Span).ToArray().Select(v => (long)v).ToArray();
            return t.Int32Data.Select(v => (long)v).ToArray();
        }
        throw new ModelException($"tensor '{t.Name}' has element type {t.DataType}, expected an integer type");
    }
}
