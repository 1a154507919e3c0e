using System.Globalization;
using System.Numerics;

namespace Sirocco.Templating.Expressions;

/// <summary>Python's <c>round(x, n)</c>: half-even on the exact value, so <c>round(2.675, 2)</c> is 2.67 as in Python.</summary>
internal static class PyRound
{
    public static double Float(double x, int digits)
    {
        if (!double.IsFinite(x) || x == 0)
        {
            return x;
        }

        var bits = BitConverter.DoubleToInt64Bits(x);
        var negative = bits < 0;
        var exponent = (int)((bits >> 52) & 0x7FF);
        var mantissa = bits & 0xFFFFFFFFFFFFFL;
        if (exponent == 0)
        {
            exponent = 1;
        }
        else
        {
            mantissa |= 1L << 52;
        }

        exponent -= 1075;
        BigInteger numerator = mantissa, denominator = BigInteger.One;
        if (exponent > 0)
        {
            numerator <<= exponent;
        }
        else
        {
            denominator <<= -exponent;
        }

        if (digits >= 0)
        {
            numerator *= BigInteger.Pow(10, digits);
        }
        else
        {
            denominator *= BigInteger.Pow(10, -digits);
        }

        var q = HalfEven(numerator, denominator);
        var text = q.ToString(CultureInfo.InvariantCulture) + "E" + (-digits).ToString(CultureInfo.InvariantCulture);
        var result = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
        return negative ? -result : result;
    }

    public static long Int(long x, int digits)
    {
        if (digits >= 0)
        {
            return x;
        }

        var scale = BigInteger.Pow(10, -digits);
        var q = HalfEven(BigInteger.Abs(x), scale) * scale * (x < 0 ? -1 : 1);
        return q >= long.MinValue && q <= long.MaxValue ? (long)q : throw new PyException("integer overflow");
    }

    private static BigInteger HalfEven(BigInteger numerator, BigInteger denominator)
    {
        var q = BigInteger.DivRem(numerator, denominator, out var r);
        var twice = r * 2;
        if (twice > denominator || (twice == denominator && !q.IsEven))
        {
            q += 1;
        }

        return q;
    }
}
