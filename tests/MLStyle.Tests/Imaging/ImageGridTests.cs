#nullable enable
using MLStyle.Imaging;

namespace MLStyle.Tests.Imaging;

public class ImageGridTests
{
    [Fact]
    public void ComposeTilesImagesOnWhite()
    {
        var red = ImageTensor.Filled(200, 100, 255, 0, 0);   // landscape -> 50x25
        var blue = ImageTensor.Filled(100, 200, 0, 0, 255);  // portrait  -> 25x50
        var green = ImageTensor.Filled(60, 60, 0, 255, 0);   // square    -> 50x50
        var grid = ImageGrid.Compose([red, blue, green], columns: 2, cellLongSide: 50, padding: 4);
        // Columns: max(50, 50) = 50 and 25; rows: max(25, 50) = 50 and 50.
        Assert.Equal(4 + 50 + 4 + 25 + 4, grid.Width);
        Assert.Equal(4 + 50 + 4 + 50 + 4, grid.Height);
        Assert.Equal((255f, 255f, 255f), (grid[0, 0, 0], grid[1, 0, 0], grid[2, 0, 0])); // padding
        // Red tile is vertically centred in the first 50-px row: rows 4 + 12.. 4 + 37.
        Assert.Equal(255f, grid[0, 4 + 25, 4 + 25], 0.01f);
        Assert.Equal(0f, grid[1, 4 + 25, 4 + 25], 0.01f);
        Assert.Equal(255f, grid[1, 6, 4 + 25]); // above the red tile: white
        Assert.Equal(0f, grid[0, 30, 58 + 12], 0.01f);
        Assert.Equal(255f, grid[2, 30, 58 + 12], 0.01f);
        Assert.Equal(0f, grid[0, 58 + 25, 4 + 25], 0.01f);
        Assert.Equal(255f, grid[1, 58 + 25, 4 + 25], 0.01f);
        Assert.Equal(255f, grid[1, 58 + 25, 58 + 12]); // empty last cell stays white
    }

    [Fact]
    public void ColumnsAreCappedByImageCount()
    {
        var grid = ImageGrid.Compose([ImageTensor.Zeros(10, 10)], columns: 5, cellLongSide: 10, padding: 0);
        Assert.Equal((10, 10), (grid.Width, grid.Height));
        Assert.Throws<ArgumentException>(() => ImageGrid.Compose([], 2, 10, 0));
    }
}
