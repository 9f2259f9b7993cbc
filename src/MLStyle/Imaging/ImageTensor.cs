#nullable enable
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SkiaSharp;

namespace MLStyle.Imaging;

/// <summary>
/// An RGB image stored as planar float32 data of shape <c>[3, Height, Width]</c> (channel-major:
/// all red values, then all green values, then all blue values), with values nominally in 0..255.
/// This is the layout neural networks consume (NCHW without the batch dimension).
/// </summary>
public sealed class ImageTensor
{
    /// <summary>Creates a black (all-zero) image.</summary>
    /// <param name="width">Width in pixels (at least 1).</param>
    /// <param name="height">Height in pixels (at least 1).</param>
    public ImageTensor(int width, int height)
    {
        CheckSize(width, height);
        Width = width;
        Height = height;
        Data = new float[checked(3 * width * height)];
    }

    /// <summary>Wraps existing planar data of shape <c>[3, height, width]</c> without copying.</summary>
    /// <param name="data">Planar RGB data; its length must be exactly <c>3 * width * height</c>.</param>
    /// <param name="width">Width in pixels (at least 1).</param>
    /// <param name="height">Height in pixels (at least 1).</param>
    /// <exception cref="ArgumentException">The data length does not match the dimensions.</exception>
    public ImageTensor(float[] data, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckSize(width, height);
        if (data.LongLength != 3L * width * height)
            throw new ArgumentException($"Data has {data.LongLength} values, expected 3x{height}x{width} = {3L * width * height}.", nameof(data));
        Width = width;
        Height = height;
        Data = data;
    }

    /// <summary>Planar RGB data, shape <c>[3, Height, Width]</c>, values nominally in 0..255.</summary>
    public float[] Data { get; }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Number of pixels per channel (<c>Width * Height</c>).</summary>
    public int PixelCount => Width * Height;

    /// <summary>The plane of channel <paramref name="c"/> (0 = red, 1 = green, 2 = blue), row-major.</summary>
    /// <param name="c">Channel index, 0..2.</param>
    public Span<float> Channel(int c)
    {
        if ((uint)c > 2) throw new ArgumentOutOfRangeException(nameof(c), c, "Channel must be 0 (R), 1 (G) or 2 (B).");
        return Data.AsSpan(c * PixelCount, PixelCount);
    }

    /// <summary>Gets or sets the value of channel <paramref name="c"/> at column <paramref name="x"/>, row <paramref name="y"/>.</summary>
    public float this[int c, int y, int x]
    {
        get => Data[Index(c, y, x)];
        set => Data[Index(c, y, x)] = value;
    }

    /// <summary>Returns a deep copy of this image.</summary>
    public ImageTensor Clone() => new((float[])Data.Clone(), Width, Height);

    /// <summary>Creates a black (all-zero) image of the given size.</summary>
    /// <param name="width">Width in pixels (at least 1).</param>
    /// <param name="height">Height in pixels (at least 1).</param>
    public static ImageTensor Zeros(int width, int height) => new(width, height);

    /// <summary>Creates an image filled with one colour.</summary>
    /// <param name="width">Width in pixels (at least 1).</param>
    /// <param name="height">Height in pixels (at least 1).</param>
    /// <param name="r">Red value (0..255).</param>
    /// <param name="g">Green value (0..255).</param>
    /// <param name="b">Blue value (0..255).</param>
    public static ImageTensor Filled(int width, int height, float r, float g, float b)
    {
        var t = new ImageTensor(width, height);
        t.Channel(0).Fill(r);
        t.Channel(1).Fill(g);
        t.Channel(2).Fill(b);
        return t;
    }

    /// <summary>Clamps every value into <c>[min, max]</c> in place; NaN becomes <paramref name="min"/>.</summary>
    /// <param name="min">Lower bound (default 0).</param>
    /// <param name="max">Upper bound (default 255).</param>
    public void ClampInPlace(float min = 0f, float max = 255f)
    {
        if (!(min <= max)) throw new ArgumentException($"min ({min}) must not exceed max ({max}).");
        var span = Data.AsSpan();
        // TensorPrimitives.Max/Min propagate NaN, so replace NaN first (NaN != NaN).
        for (int i = 0; i < span.Length; i++)
            if (float.IsNaN(span[i])) span[i] = min;
        TensorPrimitives.Max(span, min, span);
        TensorPrimitives.Min(span, max, span);
    }

    /// <summary>
    /// Converts a bitmap to an image tensor. Any colour type is accepted; transparent pixels are
    /// composited over white (using unpremultiplied alpha), so the result is always opaque RGB.
    /// </summary>
    /// <param name="bitmap">The source bitmap.</param>
    public static ImageTensor FromBitmap(SKBitmap bitmap)
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        var info = bitmap.Info;
        CheckSize(info.Width, info.Height);
        bool direct8 = (info.ColorType == SKColorType.Rgba8888 || info.ColorType == SKColorType.Bgra8888)
                       && info.AlphaType != SKAlphaType.Premul;
        bool directF16 = info.ColorType == SKColorType.RgbaF16 && info.AlphaType != SKAlphaType.Premul;
        var result = new ImageTensor(info.Width, info.Height);
        if (direct8)
        {
            result.ReadRgba8(bitmap.GetPixels(), bitmap.RowBytes, info.ColorType == SKColorType.Bgra8888);
            return result;
        }
        if (directF16)
        {
            result.ReadRgbaF16(bitmap.GetPixels(), bitmap.RowBytes);
            return result;
        }

        // Generic path: let Skia convert to unpremultiplied RGBA8888 (handles premul, gray, 565, ...).
        using var pixmap = bitmap.PeekPixels()
            ?? throw new ArgumentException("The bitmap has no readable pixels.", nameof(bitmap));
        var dstInfo = new SKImageInfo(info.Width, info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var tmp = new SKBitmap(dstInfo);
        if (!pixmap.ReadPixels(dstInfo, tmp.GetPixels(), tmp.RowBytes, 0, 0))
            throw new ArgumentException($"Cannot convert a bitmap of colour type {info.ColorType} to RGBA.", nameof(bitmap));
        result.ReadRgba8(tmp.GetPixels(), tmp.RowBytes, bgra: false);
        return result;
    }

    /// <summary>
    /// Converts this image to a new opaque 8-bit bitmap. Values are clamped to 0..255 and rounded
    /// to the nearest integer; NaN becomes 0.
    /// </summary>
    /// <param name="colorType"><see cref="SKColorType.Rgba8888"/> (default) or <see cref="SKColorType.Bgra8888"/>.</param>
    /// <returns>A bitmap the caller must dispose.</returns>
    public SKBitmap ToBitmap(SKColorType colorType = SKColorType.Rgba8888)
    {
        if (colorType != SKColorType.Rgba8888 && colorType != SKColorType.Bgra8888)
            throw new ArgumentException("Only Rgba8888 and Bgra8888 are supported.", nameof(colorType));
        var bitmap = new SKBitmap(new SKImageInfo(Width, Height, colorType, SKAlphaType.Opaque));
        try
        {
            WriteRgba8(bitmap.GetPixels(), bitmap.RowBytes, colorType == SKColorType.Bgra8888);
            bitmap.NotifyPixelsChanged();
            return bitmap;
        }
        catch
        {
            bitmap.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"ImageTensor {Width}x{Height}";

    // ---------------------------------------------------------------- internals

    private int Index(int c, int y, int x)
    {
        if ((uint)c > 2 || (uint)y >= (uint)Height || (uint)x >= (uint)Width)
            throw new IndexOutOfRangeException($"[{c},{y},{x}] is outside [3,{Height},{Width}].");
        return (c * Height + y) * Width + x;
    }

    private static void CheckSize(int width, int height)
    {
        if (width < 1 || height < 1)
            throw new ArgumentOutOfRangeException(nameof(width), $"Image size must be at least 1x1, got {width}x{height}.");
        if (3L * width * height > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(width), $"Image {width}x{height} is too large for one tensor.");
    }

    /// <summary>Clamp and round to a byte; NaN maps to 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static byte ToByte(float v) => v >= 254.5f ? (byte)255 : v > 0f ? (byte)(v + 0.5f) : (byte)0;

    /// <summary>The red, green and blue planes of <see cref="Data"/>.</summary>
    private void Planes(out Span<float> r, out Span<float> g, out Span<float> b)
    {
        int n = Width * Height;
        var data = Data.AsSpan();
        r = data.Slice(0, n);
        g = data.Slice(n, n);
        b = data.Slice(2 * n, n);
    }

    /// <summary>The byte offsets of red and blue in a 4-byte pixel (RGBA or BGRA; green is 1, alpha 3).</summary>
    private static (int Red, int Blue) RedBlueOffsets(bool bgra) => bgra ? (2, 0) : (0, 2);

    private void ReadRgba8(IntPtr pixels, int rowBytes, bool bgra) => ForEachPixel(pixels, rowBytes, new Rgba8Reader(RedBlueOffsets(bgra)));

    private void ReadRgbaF16(IntPtr pixels, int rowBytes) => ForEachPixel(pixels, rowBytes, new RgbaF16Reader());

    private void WriteRgba8(IntPtr pixels, int rowBytes, bool bgra) => ForEachPixel(pixels, rowBytes, new Rgba8Writer(RedBlueOffsets(bgra)));

    /// <summary>
    /// The one walk over a bitmap's rows and the planes: <paramref name="pixel"/> moves one pixel between them. A struct type
    /// argument makes the JIT compile this loop once per pixel format with the pixel's code inlined.
    /// </summary>
    private unsafe void ForEachPixel<TPixel>(IntPtr pixels, int rowBytes, TPixel pixel) where TPixel : struct, IPixel
    {
        int w = Width, h = Height;
        Planes(out var r, out var g, out var b);
        // Every index below is y * w + x < w * h, the planes' length: no bounds checks in the hot loop.
        ref float r0 = ref MemoryMarshal.GetReference(r), g0 = ref MemoryMarshal.GetReference(g), b0 = ref MemoryMarshal.GetReference(b);
        byte* basePtr = (byte*)pixels;
        for (int y = 0; y < h; y++)
        {
            byte* row = basePtr + (long)y * rowBytes;
            for (int i = y * w, end = i + w; i < end; i++, row += TPixel.Bytes)
                pixel.Move(row, ref Unsafe.Add(ref r0, i), ref Unsafe.Add(ref g0, i), ref Unsafe.Add(ref b0, i));
        }
    }

    /// <summary>Moves one pixel between a bitmap and the planes (red, green, blue at 0–255).</summary>
    private unsafe interface IPixel
    {
        /// <summary>Bytes per pixel in the bitmap.</summary>
        static abstract int Bytes { get; }

        /// <summary>Reads the pixel at <paramref name="p"/> into r, g, b, or writes them to it.</summary>
        void Move(byte* p, ref float r, ref float g, ref float b);
    }

    /// <summary>Reads unpremultiplied 8-bit RGBA/BGRA, compositing over white where alpha is below 255.</summary>
    private readonly unsafe struct Rgba8Reader((int Red, int Blue) offsets) : IPixel
    {
        readonly int _red = offsets.Red, _blue = offsets.Blue;

        public static int Bytes => 4;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Move(byte* p, ref float r, ref float g, ref float b)
        {
            byte a = p[3];
            if (a == 255)
            {
                r = p[_red];
                g = p[1];
                b = p[_blue];
            }
            else
            {
                // Composite (unpremultiplied) colour over white.
                float af = a * (1f / 255f), white = 255f * (1f - af);
                r = p[_red] * af + white;
                g = p[1] * af + white;
                b = p[_blue] * af + white;
            }
        }
    }

    /// <summary>Reads unpremultiplied half-float RGBA (0–1), clamped, composited over white.</summary>
    private readonly unsafe struct RgbaF16Reader : IPixel
    {
        public static int Bytes => 8;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Move(byte* p, ref float r, ref float g, ref float b)
        {
            Half* px = (Half*)p;
            float a = Math.Clamp((float)px[3], 0f, 1f);
            float white = 255f * (1f - a), s = 255f * a;
            r = Math.Clamp((float)px[0], 0f, 1f) * s + white;
            g = Math.Clamp((float)px[1], 0f, 1f) * s + white;
            b = Math.Clamp((float)px[2], 0f, 1f) * s + white;
        }
    }

    /// <summary>Writes opaque 8-bit RGBA/BGRA, each value clamped and rounded (<see cref="ToByte"/>).</summary>
    private readonly unsafe struct Rgba8Writer((int Red, int Blue) offsets) : IPixel
    {
        readonly int _red = offsets.Red, _blue = offsets.Blue;

        public static int Bytes => 4;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Move(byte* p, ref float r, ref float g, ref float b)
        {
            p[_red] = ToByte(r);
            p[1] = ToByte(g);
            p[_blue] = ToByte(b);
            p[3] = 255;
        }
    }
}
