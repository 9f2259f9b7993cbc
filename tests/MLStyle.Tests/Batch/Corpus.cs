#nullable enable
using MLStyle.Imaging;
using MLStyle.Tests.Imaging;
using SkiaSharp;

namespace MLStyle.Tests.Batch;

/// <summary>Generates good and bad input images in a directory (nothing is committed).</summary>
public static class Corpus
{
    /// <summary>An 8x8 red CMYK JPEG (Adobe APP14, 4 components) as written by ImageMagick 6.9
    /// (<c>convert -size 8x8 xc:red -colorspace CMYK -quality 90 cmyk.jpg</c>): Skia cannot encode CMYK.</summary>
    public const string CmykJpegBase64 =
        "/9j/7gAOQWRvYmUAZAAAAAAC/9sAQwADAgIDAgIDAwMDBAMDBAUIBQUEBAUKBwcGCAwKDAwLCgsLDQ4SEA0OEQ4LCxAWEBETFBUVFQwPFxgWFBgSFBUU" +
        "/9sAQwEDBAQFBAUJBQUJFA0LDRQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU/8AAFAgACAAIBAERAAIRAQMR" +
        "AQQRAP/EABUAAQEAAAAAAAAAAAAAAAAAAAgJ/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/EABUBAQEAAAAAAAAAAAAAAAAAAAcJ/8QAFBEBAAAAAAAAAAAA" +
        "AAAAAAAAAP/aAA4EAQACEQMRBAAAPwBEHNKpVN//2Q==";

    /// <summary>Writes <paramref name="bytes"/> to <c>dir/relative</c>, creating folders.</summary>
    public static string Write(string dir, string relative, byte[] bytes)
    {
        var path = Path.Combine(dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>A small colourful PNG or JPEG, different for each seed.</summary>
    public static byte[] Photo(int width, int height, int seed, SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        var t = TestFiles.Gradient(width, height);
        var rng = new Random(seed);
        float shift = rng.Next(0, 120);
        for (int i = 0; i < t.Data.Length; i++) t.Data[i] = (t.Data[i] + shift + rng.Next(0, 20)) % 256;
        return TestFiles.Encode(t, format, 92);
    }

    /// <summary>Images that must load and be processed: name → (bytes, expected width, expected height of a 32 px long side).</summary>
    public static IReadOnlyDictionary<string, (byte[] Bytes, int Width, int Height)> Good()
    {
        var gray = new byte[24 * 16];
        for (int i = 0; i < gray.Length; i++) gray[i] = (byte)(i * 7);
        var rgba = new byte[20 * 20 * 4];
        for (int i = 0; i < 400; i++) (rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2], rgba[4 * i + 3]) = (200, 30, 30, (byte)(i % 256));
        var rgb16 = new byte[16 * 16 * 6];
        for (int i = 0; i < rgb16.Length; i++) rgb16[i] = (byte)(i * 13);
        var rotated = TestFiles.WithExifOrientation(TestFiles.Encode(TestFiles.Quadrants(40, 20), SKEncodedImageFormat.Jpeg, 95), 6);
        return new Dictionary<string, (byte[], int, int)>
        {
            ["good/photo.jpg"] = (Photo(48, 32, 1, SKEncodedImageFormat.Jpeg), 32, 21),
            ["good/grayscale.png"] = (TestFiles.Png(24, 16, 8, 0, gray), 32, 21),
            ["good/alpha.png"] = (TestFiles.Png(20, 20, 8, 6, rgba), 32, 32),
            ["good/sixteen-bit.png"] = (TestFiles.Png(16, 16, 16, 2, rgb16), 32, 32),
            ["good/cmyk.jpg"] = (Convert.FromBase64String(CmykJpegBase64), 32, 32),
            ["good/exif-rotated.jpg"] = (rotated, 16, 32), // stored 40x20, displayed 20x40
        };
    }

    /// <summary>Files that must fail with a one-line reason: name → a fragment of the expected message.</summary>
    public static IReadOnlyDictionary<string, (byte[] Bytes, string Reason)> Bad()
    {
        var png = Photo(32, 32, 7);
        var jpeg = Photo(32, 32, 8, SKEncodedImageFormat.Jpeg);
        var corrupt = (byte[])png.Clone();
        for (int i = 60; i < corrupt.Length - 20; i++) corrupt[i] ^= 0x5A; // keep the header, scramble the data
        var tiff = new byte[64];
        "II*\0"u8.CopyTo(tiff);
        var huge = TestFiles.Png(100_000, 100_000, 8, 2, []); // 10,000 MP claimed by a tiny file
        return new Dictionary<string, (byte[], string)>
        {
            ["bad/empty.jpg"] = ([], "empty"),
            ["bad/truncated.jpg"] = (jpeg[..(jpeg.Length / 2)], "truncated"),
            ["bad/truncated-header.png"] = (png[..20], "truncated"),
            ["bad/corrupt.png"] = (corrupt, "corrupt"),
            ["bad/notes.png"] = ("these are notes, not pixels\n"u8.ToArray(), "not an image"),
            ["bad/scan.bmp"] = (tiff, "TIFF images are not supported"),
            ["bad/bomb.png"] = (huge, "--max-pixels"),
        };
    }
}
