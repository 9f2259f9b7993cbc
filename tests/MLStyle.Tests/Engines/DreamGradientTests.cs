using MLStyle.Engines;
using MLStyle.Losses;
using MLStyle.Tests.Support;

namespace MLStyle.Tests.Engines;

public class DreamGradientTests
{
    static DreamObjectiveSpec Spec(params string[] layers) =>
        new(TinyNet.Backbone(), layers.Select(l => new WeightedLayer(l, 1f)).ToList());

    [Theory]
    [InlineData(70, 24, 8, 0)]
    [InlineData(70, 24, 8, 5)]
    [InlineData(100, 32, 12, 13)]
    [InlineData(24, 24, 8, 0)]
    [InlineData(25, 24, 0, 0)]
    public void TileOrigins_CoverTheAxisWithTilesInsideAndEnoughOverlap(int length, int tile, int overlap, int offset)
    {
        var o = DreamGradient.TileOrigins(length, tile, overlap, offset);
        int t = Math.Min(tile, length);
        Assert.Equal(0, o[0]);
        Assert.Equal(length - t, o[^1]);
        for (int i = 1; i < o.Length; i++)
        {
            Assert.True(o[i] > o[i - 1]);
            Assert.True(o[i - 1] + t - o[i] >= overlap, $"tiles at {o[i - 1]} and {o[i]} overlap by less than {overlap}");
        }
        var own = DreamGradient.TileOwnership(length, tile, o);
        Assert.Equal(0, own[0].Start);
        Assert.Equal(length, own[^1].End);
        for (int i = 0; i < o.Length; i++)
        {
            if (i > 0) Assert.Equal(own[i - 1].End, own[i].Start);
            // Owned pixels are at least overlap/2 from the tile's inner edges.
            if (i > 0) Assert.True(own[i].Start - o[i] >= overlap / 2);
            if (i + 1 < o.Length) Assert.True(o[i] + t - own[i].End >= overlap / 2);
        }
    }

    /// <summary>
    /// The tiny net's receptive-field radius is 2 px, so an overlap of 8 (= 4r) makes the stitched gradient exact: every pixel
    /// takes its gradient from a tile whose edge is at least 4 px away, or is the image's own edge (tiles never pad).
    /// Holds for any roll and grid offset; the layer scales make the tile terms add up to the whole image's mean.
    /// </summary>
    [Theory]
    [InlineData(0, 0, 0, 0)]
    [InlineData(3, -2, 0, 0)]
    [InlineData(0, 0, 7, 11)]
    [InlineData(-5, 9, 15, 2)]
    public void Tiled_EqualsUntiled_WhenOverlapCoversTheReceptiveField(int rollX, int rollY, int gridX, int gridY)
    {
        var spec = Spec("r2", "r1");
        var img = TinyNet.Picture(70, 50);
        using var whole = new DreamGradient(spec);
        using var tiled = new DreamGradient(spec, tile: 24, tileOverlap: 8);
        var g0 = new float[img.Data.Length];
        var g1 = new float[img.Data.Length];
        float o0 = whole.Compute(img, g0, rollX, rollY);
        float o1 = tiled.Compute(img, g1, rollX, rollY, gridX, gridY);
        Assert.True(tiled.LastTileCount >= 9, $"only {tiled.LastTileCount} tiles");
        Assert.Equal(1, tiled.SessionCount); // one session serves every tile
        double scale = g0.Max(Math.Abs);
        Assert.True(scale > 0);
        for (int i = 0; i < g0.Length; i++)
            Assert.True(Math.Abs(g0[i] - g1[i]) <= 1e-4 * scale, $"pixel {i}: untiled {g0[i]}, tiled {g1[i]}");
        Assert.Equal(o0, o1, 0.05 * Math.Abs(o0)); // the tiled objective is an estimate
    }

    [Fact]
    public void Tiled_DiffersWithoutOverlap_SoTheEqualityTestIsSensitive()
    {
        var spec = Spec("r2");
        var img = TinyNet.Picture(70, 50);
        using var whole = new DreamGradient(spec);
        using var tiled = new DreamGradient(spec, tile: 24, tileOverlap: 0);
        var g0 = new float[img.Data.Length];
        var g1 = new float[img.Data.Length];
        whole.Compute(img, g0);
        tiled.Compute(img, g1);
        double scale = g0.Max(Math.Abs);
        Assert.Contains(Enumerable.Range(0, g0.Length), i => Math.Abs(g0[i] - g1[i]) > 1e-2 * scale);
    }

    [Fact]
    public void Roll_ShiftsTheGradientLikeNpRoll()
    {
        // The gradient at the rolled image, un-rolled: equal to rolling the image by hand, computing, and rolling back.
        var spec = Spec("r2");
        var img = TinyNet.Picture(40, 30);
        int ox = 7, oy = -4;
        var rolled = new MLStyle.Imaging.ImageTensor(40, 30);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 30; y++)
                for (int x = 0; x < 40; x++)
                    rolled[c, (y + oy + 30) % 30, (x + ox) % 40] = img[c, y, x];
        using var g = new DreamGradient(spec);
        var a = new float[img.Data.Length];
        var b = new float[img.Data.Length];
        g.Compute(img, a, ox, oy);
        g.Compute(rolled, b);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 30; y++)
                for (int x = 0; x < 40; x++)
                    Assert.Equal(b[(c * 30 + (y + oy + 30) % 30) * 40 + (x + ox) % 40], a[(c * 30 + y) * 40 + x], 5);
    }
}
