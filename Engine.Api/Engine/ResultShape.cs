namespace Engine.Api.Engine;

/// <summary>What <see cref="SqlEngine.RunSqlAsync"/> returns (Splitgraph's ResultShape).</summary>
public enum ResultShape
{
    /// <summary>Nothing (null).</summary>
    None,
    /// <summary>First column of the first row, or null.</summary>
    OneOne,
    /// <summary>The first row as an array, or null.</summary>
    OneMany,
    /// <summary>First column of every row.</summary>
    ManyOne,
    /// <summary>Every row as an array.</summary>
    ManyMany,
}
