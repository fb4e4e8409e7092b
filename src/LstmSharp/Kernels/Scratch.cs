using System.Runtime.CompilerServices;

namespace LstmSharp.Kernels;

/// <summary>
/// The backward kernel's scratch arrays, kept per thread from one call to the next. Unlike <c>ArrayPool.Shared</c>,
/// which rounds a length up to a power of two (up to twice the memory) and allocates in gen 0 or on the large object
/// heap, an array here is made at the length asked for, uninitialised, on the pinned object heap
/// (<see cref="LongLivedArray.Allocate{T}"/>); a request takes the shortest free array at least as long (callers slice
/// what they asked for). At most <see cref="Kept"/> free arrays and <see cref="KeptBytes"/> bytes of them are kept per
/// thread (and element type), the least recently returned dropped first, an array longer than that not kept at all (so
/// that one call on a very long sequence does not hold its buffers for the life of the thread). Rent and return on the
/// same thread.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
internal static class Scratch<T> where T : unmanaged
{
    /// <summary>Free arrays kept per thread.</summary>
    internal const int Kept = 16;

    /// <summary>Bytes of free arrays kept per thread: 64 MiB (a (64, 128, 128, 512) training step's backward takes about 21).</summary>
    internal const long KeptBytes = 64L << 20;

    [ThreadStatic] private static List<T[]>? t_free;  // the most recently returned last

    /// <summary>An array of at least <paramref name="length"/> elements, contents unspecified.</summary>
    public static T[] Rent(int length)
    {
        var free = t_free;
        if (free is not null)
        {
            int best = -1;
            for (int i = free.Count - 1; i >= 0; i--)
            {
                int n = free[i].Length;
                if (n >= length && (best < 0 || n < free[best].Length)) best = i;
            }
            if (best >= 0)
            {
                var array = free[best];
                free.RemoveAt(best);
                return array;
            }
        }
        return LongLivedArray.Allocate<T>(length);
    }

    /// <summary>Gives <paramref name="array"/> back for a later <see cref="Rent"/> on this thread.</summary>
    public static void Return(T[] array)
    {
        if ((long)array.Length * Unsafe.SizeOf<T>() > KeptBytes) return;  // would push out every other one, then itself
        var free = t_free ??= new List<T[]>(Kept + 1);
        free.Add(array);
        long bytes = 0;
        foreach (var kept in free) bytes += (long)kept.Length * Unsafe.SizeOf<T>();
        while (free.Count > Kept || bytes > KeptBytes)
        {
            bytes -= (long)free[0].Length * Unsafe.SizeOf<T>();
            free.RemoveAt(0);
        }
    }

    /// <summary>Drops this thread's free arrays.</summary>
    internal static void Clear() => t_free?.Clear();
}
