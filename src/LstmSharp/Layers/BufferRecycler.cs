using System.Numerics;

namespace LstmSharp.Layers;

/// <summary>
/// The arrays behind one <see cref="LstmCache{T}"/>: handed out by a <see cref="BufferRecycler{T}"/>, given back when the
/// cache retires, and reclaimed if the cache is differentiated again before any of them has been handed out anew.
/// </summary>
internal sealed class CacheLease<T>
{
    /// <summary>Every array the cache's Forward rented.</summary>
    public List<T[]> Arrays { get; } = [];

    /// <summary>Its arrays are in the recycler's free lists.</summary>
    public bool Retired { get; set; }

    /// <summary>At least one of its arrays has been handed out again: the cache can no longer be used.</summary>
    public bool Overwritten { get; set; }
}

/// <summary>
/// Reuses large arrays from one Forward/Backward to the next. Memory that is new to the process is expensive on first
/// touch (page faults; on some virtual machines several milliseconds per megabyte), so the buffers of a cache that
/// can no longer be needed are kept for the next call instead of being left to the garbage collector. It holds the
/// arrays of one retired cache (plus the last backward's scratch arrays) at a time, so memory stays bounded.
/// Not thread-safe, like the <see cref="Lstm{T}"/> that owns it.
/// </summary>
internal sealed class BufferRecycler<T> where T : unmanaged, INumberBase<T>
{
    private readonly Dictionary<int, Stack<T[]>> _free = [];  // by length
    private CacheLease<T>? _retired;                           // the lease whose arrays are in _free

    /// <summary>An array of exactly <paramref name="length"/> elements with unspecified contents, recorded in <paramref name="lease"/> if given.</summary>
    public T[] Rent(int length, CacheLease<T>? lease = null)
    {
        T[] array;
        if (_free.TryGetValue(length, out var stack) && stack.Count > 0)
        {
            array = stack.Pop();
            if (_retired is not null) _retired.Overwritten = true;
        }
        else
        {
            array = new T[length];
        }
        lease?.Arrays.Add(array);
        return array;
    }

    /// <summary>A zeroed array of <paramref name="length"/> elements.</summary>
    public T[] RentCleared(int length, CacheLease<T>? lease = null)
    {
        var array = Rent(length, lease);
        Array.Clear(array);
        return array;
    }

    /// <summary>Makes <paramref name="lease"/>'s arrays, and <paramref name="scratch"/>, the ones to reuse (dropping any held before).</summary>
    public void Retire(CacheLease<T> lease, IEnumerable<T[]>? scratch = null)
    {
        if (lease.Retired) return;
        _free.Clear();
        _retired = lease;
        lease.Retired = true;
        foreach (var a in lease.Arrays) Give(a);
        if (scratch is not null)
            foreach (var a in scratch) Give(a);
    }

    /// <summary>
    /// Takes a retired lease back for another Backward: possible while none of its arrays has been handed out again;
    /// otherwise throws, since the cache's contents are gone.
    /// </summary>
    public void Reclaim(CacheLease<T> lease)
    {
        if (!lease.Retired) return;
        if (lease.Overwritten || !ReferenceEquals(_retired, lease))
            throw new InvalidOperationException(
                "cache: its buffers have been reused by a later Forward (a cache can be passed to Backward until the Forward " +
                "after its first Backward, or, from an evaluation-mode Forward, until the next Forward). Run Forward again.");
        _free.Clear();
        _retired = null;
        lease.Retired = false;
    }

    private void Give(T[] array)
    {
        if (!_free.TryGetValue(array.Length, out var stack)) _free[array.Length] = stack = new Stack<T[]>();
        stack.Push(array);
    }
}
