using Xunit;

namespace Sirocco.Testing;

/// <summary>
/// The xunit collection that shares one <see cref="PostgresServer"/> across a test assembly. xunit only reads collection
/// definitions from the test assembly itself, so each one declares
/// <c>[CollectionDefinition(PostgresCollectionDefinition.Name)] public sealed class PostgresCollection : PostgresCollectionDefinition;</c>
/// and its tests take <c>[Collection(PostgresCollectionDefinition.Name)]</c> and a <see cref="PostgresServer"/> constructor parameter.
/// </summary>
public abstract class PostgresCollectionDefinition : ICollectionFixture<PostgresServer>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "postgres";
}
