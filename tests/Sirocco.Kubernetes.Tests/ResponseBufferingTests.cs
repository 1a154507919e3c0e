using System.Net;
using Sirocco.Kubernetes.Internal;

namespace Sirocco.Kubernetes.Tests;

/// <summary>
/// The typed client deserializes response bodies synchronously; <see cref="ResponseBuffering"/> reads them first,
/// asynchronously, and leaves streams (watches, logs) alone.
/// </summary>
public sealed class ResponseBufferingTests
{
    [Theory]
    [InlineData("https://k/api/v1/namespaces/ns/pods", true)]
    [InlineData("https://k/api/v1/namespaces/ns/pods/p", true)]
    [InlineData("https://k/api/v1/namespaces/ns/pods?labelSelector=a%3Db", true)]
    [InlineData("https://k/api/v1/namespaces/ns/pods?watch=true&resourceVersion=5", false)]
    [InlineData("https://k/api/v1/namespaces/ns/events?watch=1", false)]
    [InlineData("https://k/api/v1/watch/namespaces/ns/pods", false)]
    [InlineData("https://k/api/v1/namespaces/ns/pods/p/log?container=base", false)]
    [InlineData("https://k/api/v1/namespaces/ns/pods/p/log?follow=true", false)]
    [InlineData("https://k/api/v1/namespaces/ns/pods/p/exec?command=ls", false)]
    [InlineData("https://k/api/v1/namespaces/ns/services/s/proxy/metrics", false)]
    public async Task Only_whole_documents_are_read_ahead(string url, bool buffered)
    {
        using var client = new HttpClient(new ResponseBuffering { InnerHandler = new OneBody() });
        using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, url), HttpCompletionOption.ResponseHeadersRead);

        // A synchronous read of the body, as the typed client does: from memory when buffered, else from the stream
        // itself, which refuses synchronous reads here (a network stream blocks a thread instead).
        using var stream = response.Content.ReadAsStream();
        using var reader = new StreamReader(stream);
        if (buffered)
        {
            Assert.Equal("{\"kind\":\"Pod\"}", reader.ReadToEnd());
        }
        else
        {
            Assert.Throws<InvalidOperationException>(() => reader.ReadToEnd());
        }
    }

    [Fact]
    public async Task A_body_that_breaks_while_buffering_fails_the_call_with_the_error()
    {
        using var client = new HttpClient(new ResponseBuffering { InnerHandler = new OneBody(breakAfter: 3) });
        var e = await Assert.ThrowsAnyAsync<Exception>(() => client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "https://k/api/v1/namespaces/ns/pods/p"), HttpCompletionOption.ResponseHeadersRead));
        Assert.Contains("connection reset", e.ToString(), StringComparison.Ordinal);
    }

    private sealed class OneBody(int breakAfter = -1) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new AsyncOnlyStream("{\"kind\":\"Pod\"}"u8.ToArray(), breakAfter)) });
    }

    /// <summary>A network-like stream: asynchronous reads only, and optionally a reset after some bytes.</summary>
    private sealed class AsyncOnlyStream(byte[] data, int breakAfter) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => throw new InvalidOperationException("synchronous read of a network stream");

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (breakAfter >= 0 && _position >= breakAfter)
            {
                throw new IOException("connection reset by peer");
            }

            var n = Math.Min(Math.Min(buffer.Length, data.Length - _position), breakAfter >= 0 ? breakAfter - _position : int.MaxValue);
            data.AsSpan(_position, n).CopyTo(buffer.Span);
            _position += n;
            return ValueTask.FromResult(n);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
