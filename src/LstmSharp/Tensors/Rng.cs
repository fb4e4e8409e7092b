using System.Numerics;

namespace LstmSharp.Tensors;

/// <summary>
/// A small, fast, seedable random generator (xoshiro256**, seeded by SplitMix64) whose whole state can be
/// read and restored, so that training resumes bit for bit. The same seed gives the same numbers on every machine.
/// </summary>
public sealed class Rng
{
    private ulong _s0, _s1, _s2, _s3;

    /// <summary>A generator seeded with <paramref name="seed"/>.</summary>
    public Rng(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    /// <summary>The full state, four 64-bit words; see <see cref="SetState"/>.</summary>
    public ulong[] GetState() => [_s0, _s1, _s2, _s3];

    /// <summary>Restores a state taken with <see cref="GetState"/>.</summary>
    /// <param name="state">Four words, not all zero.</param>
    public void SetState(ReadOnlySpan<ulong> state)
    {
        if (state.Length != 4)
            throw new ArgumentException($"state: expected 4 words, got {state.Length}.", nameof(state));
        if ((state[0] | state[1] | state[2] | state[3]) == 0)
            throw new ArgumentException("state: an all-zero state is invalid for xoshiro256**.", nameof(state));
        (_s0, _s1, _s2, _s3) = (state[0], state[1], state[2], state[3]);
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A uniform double in [0, 1), with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A uniform integer in [0, <paramref name="maxExclusive"/>).</summary>
    public int NextInt(int maxExclusive)
    {
        if (maxExclusive <= 0)
            throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, "maxExclusive: expected a positive bound.");
        // Lemire's nearly divisionless method, unbiased.
        ulong range = (ulong)maxExclusive;
        ulong m = (NextUInt64() >> 32) * range; // both factors < 2^32: no overflow
        ulong low = m & 0xFFFFFFFF;
        if (low < range)
        {
            ulong threshold = (0x1_0000_0000UL - range) % range;
            while (low < threshold)
            {
                m = (NextUInt64() >> 32) * range;
                low = m & 0xFFFFFFFF;
            }
        }
        return (int)(m >> 32);
    }

    /// <summary>Fills <paramref name="destination"/> with uniform values in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    public void FillUniform<T>(T low, T high, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double lo = double.CreateChecked(low), width = double.CreateChecked(high) - lo;
        for (int i = 0; i < destination.Length; i++)
            destination[i] = T.CreateChecked(lo + width * NextDouble());
    }

    /// <summary>Fills <paramref name="destination"/> with standard normal values (Box-Muller).</summary>
    public void FillNormal<T>(Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < destination.Length; i += 2)
        {
            double u1 = 1.0 - NextDouble(), u2 = NextDouble();
            double r = Math.Sqrt(-2.0 * Math.Log(u1));
            destination[i] = T.CreateChecked(r * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < destination.Length) destination[i + 1] = T.CreateChecked(r * Math.Sin(2 * Math.PI * u2));
        }
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
