using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;

namespace Sirocco.Scheduler;

/// <summary>When a failed try's retry may start, by Airflow's rules.</summary>
internal static class RetryDelays
{
    /// <summary>
    /// The delay before try <paramref name="nextTryNumber"/>. Plain: <c>retry_delay</c>. Exponential: Airflow's
    /// <c>retry_delay * 2^(try - 2)</c> seconds (rounded up) plus a jitter of the same size taken from a hash of the
    /// task instance, so retries of many tasks spread out the same way on every run; capped by <c>max_retry_delay</c>.
    /// </summary>
    public static TimeSpan Next(BaseOperator task, string dagId, DateTimeOffset logicalDate, int nextTryNumber)
    {
        var delay = task.RetryDelay;
        if (task.RetryExponentialBackoff)
        {
            var minBackoff = (long)Math.Ceiling(delay.TotalSeconds * Math.Pow(2, nextTryNumber - 2));
            if (minBackoff < 1)
            {
                delay = TimeSpan.FromSeconds(1);
            }
            else
            {
                // Python's str(datetime): ISO 8601 with a space between date and time.
                var key = $"{dagId}#{task.TaskId}#{AirflowTime.IsoFormat(logicalDate.ToUniversalTime()).Replace('T', ' ')}#{nextTryNumber}";
                var hash = new BigInteger(SHA1.HashData(Encoding.UTF8.GetBytes(key)), isUnsigned: true, isBigEndian: true);
                var jittered = minBackoff + (long)(hash % minBackoff);
                delay = jittered > TimeSpan.MaxValue.TotalSeconds / 2 ? TimeSpan.MaxValue : TimeSpan.FromSeconds(jittered);
            }
        }

        if (task.MaxRetryDelay is { } max && delay > max)
        {
            delay = max;
        }

        return delay;
    }

    public static string Describe(TimeSpan delay) => delay.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";
}
