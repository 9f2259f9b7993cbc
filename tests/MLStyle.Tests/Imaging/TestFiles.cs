#nullable enable
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using MLStyle.Imaging;
using SkiaSharp;

namespace MLStyle.Tests.Imaging;

/// <summary>A temporary directory deleted on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mlstyle-img-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>Hand-written image files for tests (no committed fixtures).</summary>
public static class TestFiles
{
    /// <summary>Writes a PNG with the given IHDR fields and raw (unfiltered) scanlines; filter byte 0 is prepended per row.</summary>
    public static byte[] Png(int width, int height, byte bitDepth, byte colorType, byte[] rawRows,
        byte[]? palette = null, byte[]? trns = null, bool includeImageData = true)
    {
        using var ms = new MemoryStream();
        ms.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(0), (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), (uint)height);
        ihdr[8] = bitDepth;
        ihdr[9] = colorType;
        WriteChunk(ms, "IHDR", ihdr);
        if (palette is not null) WriteChunk(ms, "PLTE", palette);
        if (trns is not null) WriteChunk(ms, "tRNS", trns);
        if (includeImageData)
        {
            int rowBytes = rawRows.Length / height;
            using var raw = new MemoryStream();
            for (int y = 0; y < height; y++)
            {
                raw.WriteByte(0);
                raw.Write(rawRows, y * rowBytes, rowBytes);
            }
            using var z = new MemoryStream();
            using (var zlib = new ZLibStream(z, CompressionLevel.SmallestSize, leaveOpen: true))
                raw.WriteTo(zlib);
            WriteChunk(ms, "IDAT", z.ToArray());
        }
        WriteChunk(ms, "IEND", []);
        return ms.ToArray();
    }

    private static void WriteChunk(Stream s, string type, byte[] data)
    {
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(len, (uint)data.Length);
        s.Write(len);
        byte[] typeAndData = [.. Encoding.ASCII.GetBytes(type), .. data];
        s.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(len, Crc32(typeAndData));
        s.Write(len);
    }

    private static readonly uint[] CrcTable = BuildCrcTable();

    private static uint[] BuildCrcTable()
    {
        var t = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }

    /// <summary>CRC-32 (ISO-HDLC, as used by PNG).</summary>
    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (byte b in data) c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }

    /// <summary>Encodes a tensor with Skia (PNG/JPEG) into memory.</summary>
    public static byte[] Encode(ImageTensor image, SKEncodedImageFormat format, int quality = 95)
    {
        using var bmp = image.ToBitmap();
        using var data = bmp.Encode(format, quality);
        return data.ToArray();
    }

    /// <summary>Inserts an APP1 Exif segment with the given orientation right after the JPEG SOI marker.</summary>
    public static byte[] WithExifOrientation(byte[] jpeg, ushort orientation)
    {
        Assert.True(jpeg[0] == 0xFF && jpeg[1] == 0xD8, "not a JPEG");
        // TIFF header (big-endian) + one IFD with a single Orientation (0x0112, SHORT) entry.
        byte[] tiff =
        [
            (byte)'M', (byte)'M', 0x00, 0x2A, 0x00, 0x00, 0x00, 0x08,
            0x00, 0x01,
            0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, (byte)(orientation >> 8), (byte)orientation, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00,
        ];
        byte[] payload = [.. "Exif\0\0"u8.ToArray(), .. tiff];
        int segLen = payload.Length + 2;
        byte[] app1 = [0xFF, 0xE1, (byte)(segLen >> 8), (byte)segLen, .. payload];
        return [.. jpeg.AsSpan(0, 2), .. app1, .. jpeg.AsSpan(2)];
    }

    /// <summary>A tensor with four flat-coloured quadrants: TL red, TR green, BL blue, BR yellow.</summary>
    public static ImageTensor Quadrants(int width, int height)
    {
        var t = new ImageTensor(width, height);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                bool right = x >= width / 2, bottom = y >= height / 2;
                (float r, float g, float b) = (right, bottom) switch
                {
                    (false, false) => (255f, 0f, 0f),
                    (true, false) => (0f, 255f, 0f),
                    (false, true) => (0f, 0f, 255f),
                    _ => (255f, 255f, 0f),
                };
                t[0, y, x] = r;
                t[1, y, x] = g;
                t[2, y, x] = b;
            }
        return t;
    }

    /// <summary>A deterministic pseudo-random tensor of integer values 0..255.</summary>
    public static ImageTensor RandomIntegers(int width, int height, int seed)
    {
        var rng = new Random(seed);
        var t = new ImageTensor(width, height);
        for (int i = 0; i < t.Data.Length; i++) t.Data[i] = rng.Next(256);
        return t;
    }

    /// <summary>A smooth colourful gradient (compresses well as JPEG).</summary>
    public static ImageTensor Gradient(int width, int height)
    {
        var t = new ImageTensor(width, height);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                t[0, y, x] = 255f * x / Math.Max(1, width - 1);
                t[1, y, x] = 255f * y / Math.Max(1, height - 1);
                t[2, y, x] = 128f + 100f * MathF.Sin((x + y) * 0.05f);
            }
        return t;
    }

    /// <summary>Mean RGB of a rectangle.</summary>
    public static (double R, double G, double B) MeanColor(ImageTensor t, int x0, int y0, int w, int h)
    {
        double r = 0, g = 0, b = 0;
        for (int y = y0; y < y0 + h; y++)
            for (int x = x0; x < x0 + w; x++)
            {
                r += t[0, y, x];
                g += t[1, y, x];
                b += t[2, y, x];
            }
        int n = w * h;
        return (r / n, g / n, b / n);
    }
}
