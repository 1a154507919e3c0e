// Sirocco.Kubernetes: see README.md in this folder.
using System.Runtime.CompilerServices;

// The benchmarks drive the internal runtime directly to count API requests (the tests get access from the build).
[assembly: InternalsVisibleTo("Sirocco.Bench.Kubernetes")]
[assembly: InternalsVisibleTo("Sirocco.Bench.Scale")]
