using Engine.Tests.Infrastructure;

namespace Engine.Tests;

public sealed class SmokeTests(DatabaseFixture fixture) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task Server_answers()
    {
        Assert.Equal(1, await fixture.Db.ScalarAsync<int>("SELECT 1"));
    }
}
