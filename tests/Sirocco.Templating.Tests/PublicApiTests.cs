using System.Reflection;

namespace Sirocco.Templating.Tests;

/// <summary>The public surface is small on purpose; a change to it shows here and in fixtures/public-api.txt.</summary>
public class PublicApiTests
{
    private static IEnumerable<string> Describe()
    {
        const BindingFlags flags = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (var type in typeof(TemplateEngine).Assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            yield return $"{(type.IsEnum ? "enum" : type.IsInterface ? "interface" : type.IsValueType ? "struct" : "class")} {type.FullName}";
            var members = type.GetMembers(flags)
                .Where(m => m is not MethodInfo { IsSpecialName: true } && m.DeclaringType == type)
                .Where(m => !(type.IsEnum && m.Name == "value__"))
                .Where(m => m is not MethodInfo mi || !(mi.Name is "Equals" or "GetHashCode" or "ToString" or "<Clone>$" or "Deconstruct" or "PrintMembers"))
                .Select(m => "  " + m switch
                {
                    PropertyInfo p => $"property {p.PropertyType.Name} {p.Name}",
                    MethodInfo mi => $"method {mi.ReturnType.Name} {mi.Name}({string.Join(", ", mi.GetParameters().Select(p => p.ParameterType.Name))})",
                    ConstructorInfo c => $"ctor({string.Join(", ", c.GetParameters().Select(p => p.ParameterType.Name))})",
                    FieldInfo f => $"field {f.FieldType.Name} {f.Name}",
                    _ => $"{m.MemberType} {m.Name}",
                })
                .Order(StringComparer.Ordinal);
            foreach (var m in members)
            {
                yield return m;
            }
        }
    }

    [Fact]
    public void Public_api_matches_the_recorded_list()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "fixtures", "public-api.txt");
        var expected = File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => l.Trim()).ToArray();
        var actual = Describe().Select(l => l.Trim()).ToArray();
        Assert.True(expected.SequenceEqual(actual), "public API changed; new list:\n" + string.Join("\n", actual));
    }
}
