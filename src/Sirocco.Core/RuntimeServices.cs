namespace Sirocco;

/// <summary>
/// The process-wide runtimes operators use while a try runs (for a pod: the Kubernetes clients and watches shared by
/// every try), built once by the composition root and handed to every try as <see cref="TaskExecutionContext.Services"/>.
/// Disposing it disposes what was added.
/// </summary>
public sealed class RuntimeServices : IServiceProvider, IAsyncDisposable
{
    private readonly Dictionary<Type, object> _services = [];
    private readonly Lock _lock = new();

    /// <summary>Adds (or replaces) the runtime of type <typeparamref name="T"/>.</summary>
    public RuntimeServices Add<T>(T service)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(service);
        lock (_lock)
        {
            _services[typeof(T)] = service;
        }

        return this;
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType)
    {
        lock (_lock)
        {
            return _services.GetValueOrDefault(serviceType);
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        List<object> all;
        lock (_lock)
        {
            all = [.. _services.Values];
            _services.Clear();
        }

        foreach (var s in all)
        {
            switch (s)
            {
                case IAsyncDisposable a:
                    await a.DisposeAsync().ConfigureAwait(false);
                    break;
                case IDisposable d:
                    d.Dispose();
                    break;
            }
        }
    }
}
