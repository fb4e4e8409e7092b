namespace LstmSharp.Kernels;

/// <summary>
/// The backward kernel's scratch arrays, kept per thread from one call to the next. Unlike <c>ArrayPool.Shared</c>,
/// which rounds a length up to a power of two (up to twice the memory) and allocates in gen 0 or on the large object
/// heap, an array here is made at the length asked for, uninitialised, on the pinned object heap
/// (<see cref="LongLivedArray.Allocate{T}"/>); a request takes the shortest free array at least as long (callers slice
/// what they asked for). At most <see cref="Kept"/> free arrays are kept per thread, the least recently returned
/// dropped first. Rent and return on the same thread.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
internal static class Scratch<T> where T : unmanaged
{
    /// <summary>Free arrays kept per thread.</summary>
    internal const int Kept = 16;

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
        var free = t_free ??= new List<T[]>(Kept + 1);
        free.Add(array);
        if (free.Count > Kept) free.RemoveAt(0);
    }

    /// <summary>Drops this thread's free arrays.</summary>
    internal static void Clear() => t_free?.Clear();
}
