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

        var negative = x < 0;
        var (numerator, denominator) = Exact(Math.Abs(x));
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

    /// <summary><c>"%.{digits}f" % |x|</c>, exactly as C and Python print it (half-even on the exact value).</summary>
    public static string Fixed(double x, int digits)
    {
        var (num, den) = Exact(Math.Abs(x));
        var q = HalfEven(num * BigInteger.Pow(10, digits), den).ToString(CultureInfo.InvariantCulture);
        if (digits == 0)
        {
            return q;
        }

        q = q.PadLeft(digits + 1, '0');
        return q[..^digits] + "." + q[^digits..];
    }

    /// <summary><c>"%.{digits}e" % |x|</c>: the mantissa digits (with the point) and the decimal exponent.</summary>
    public static (string Mantissa, int Exponent) Scientific(double x, int digits)
    {
        var (num, den) = Exact(Math.Abs(x));
        if (num.IsZero)
        {
            return (digits == 0 ? "0" : "0." + new string('0', digits), 0);
        }

        var e = (int)Math.Floor(Math.Log10(Math.Abs(x)));
        while (CompareToPowerOfTen(num, den, e) < 0)
        {
            e--;
        }

        while (CompareToPowerOfTen(num, den, e + 1) >= 0)
        {
            e++;
        }

        var shift = digits - e;
        var q = shift >= 0 ? HalfEven(num * BigInteger.Pow(10, shift), den) : HalfEven(num, den * BigInteger.Pow(10, -shift));
        if (q == BigInteger.Pow(10, digits + 1))
        {
            q /= 10;
            e++;
        }

        var text = q.ToString(CultureInfo.InvariantCulture);
        return (digits == 0 ? text : text[..1] + "." + text[1..], e);
    }

    private static int CompareToPowerOfTen(BigInteger num, BigInteger den, int e) =>
        e >= 0 ? num.CompareTo(den * BigInteger.Pow(10, e)) : (num * BigInteger.Pow(10, -e)).CompareTo(den);

    /// <summary>A finite double as an exact fraction.</summary>
    private static (BigInteger Numerator, BigInteger Denominator) Exact(double x)
    {
        if (x == 0)
        {
            return (BigInteger.Zero, BigInteger.One);
        }

        var bits = BitConverter.DoubleToInt64Bits(x);
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
        return exponent > 0 ? (new BigInteger(mantissa) << exponent, BigInteger.One) : (new BigInteger(mantissa), BigInteger.One << -exponent);
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
