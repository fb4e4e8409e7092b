using System.Numerics;
using System.Runtime.CompilerServices;

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

    /// <summary>
    /// The arrays given back before it retired (<see cref="BufferRecycler{T}.Return"/>, <see cref="BufferRecycler{T}.Release"/>),
    /// each once however often it was reused: with <see cref="Arrays"/>, the memory its call used.
    /// </summary>
    public IReadOnlyCollection<T[]> Returned => (IReadOnlyCollection<T[]>?)_returned ?? [];

    private HashSet<T[]>? _returned;  // made at the first array given back: a training call's lease has none

    /// <summary>Whether <paramref name="array"/> is among <see cref="Returned"/>.</summary>
    public bool WasReturned(T[] array) => _returned?.Contains(array) == true;

    /// <summary>Adds <paramref name="array"/> to <see cref="Returned"/> (once, however often it is given back).</summary>
    public void AddReturned(T[] array) => (_returned ??= new(ReferenceEqualityComparer.Instance)).Add(array);
}

/// <summary>
/// Reuses large arrays from one Forward/Backward to the next. Memory that is new to the process is expensive on first
/// touch (page faults; on some virtual machines several milliseconds per megabyte), so the buffers of a cache that
/// can no longer be needed are kept for the next call instead of being left to the garbage collector. The free arrays
/// are kept by length, the most recently given back first; when they add up to more than twice the largest retired
/// cache (and more than 64 MiB), the lengths least recently used are dropped. So a training loop that evaluates now and
/// then (other batch sizes, and a last partial batch of each) keeps the buffers of all, and memory stays bounded.
/// Thread-safe (one lock, taken a few times per call, never per step): calls that only read the model (inference,
/// evaluation-mode Forward) may run on several threads at once, each with its own lease.
/// </summary>
internal sealed class BufferRecycler<T> where T : unmanaged, INumberBase<T>
{
    private readonly Dictionary<int, Bucket> _free = [];  // by length
    private CacheLease<T>? _retired;                      // the last lease retired, which Reclaim can take back
    private long _freeElements;                           // elements in all buckets
    private long _limit;                                  // twice the largest retired cache's elements
    private long _clock;                                  // ticks of use, for least-recently-used eviction

    private readonly long _floorBytes;
    private readonly Lock _gate = new();                  // guards everything above and the leases' flags

    /// <summary>A recycler that always keeps up to <paramref name="floorBytes"/> of free arrays (a training loop's batches,
    /// its last partial batch and its evaluation batches), and more up to twice the largest retired cache.</summary>
    public BufferRecycler(long floorBytes = 64L << 20) => _floorBytes = floorBytes;

    private sealed class Bucket
    {
        public readonly List<T[]> Arrays = [];  // the most recently given back last
        public long LastUse;
    }

    /// <summary>An array of exactly <paramref name="length"/> elements with unspecified contents, recorded in <paramref name="lease"/> if given.</summary>
    public T[] Rent(int length, CacheLease<T>? lease = null)
    {
        lock (_gate)
        {
            T[] array;
            if (_free.TryGetValue(length, out var bucket) && bucket.Arrays.Count > 0)
            {
                array = bucket.Arrays[^1];
                bucket.Arrays.RemoveAt(bucket.Arrays.Count - 1);
                bucket.LastUse = ++_clock;
                _freeElements -= length;
                if (_retired is not null) _retired.Overwritten = true;  // conservatively: it may have been the last lease's
            }
            else
            {
                array = Kernels.LongLivedArray.Allocate<T>(length);
                AllocatedElements += length;
            }
            lease?.Arrays.Add(array);
            return array;
        }
    }

    /// <summary>A zeroed array of <paramref name="length"/> elements.</summary>
    public T[] RentCleared(int length, CacheLease<T>? lease = null)
    {
        var array = Rent(length, lease);
        Array.Clear(array);
        return array;
    }

    /// <summary>Makes <paramref name="lease"/>'s arrays, and <paramref name="scratch"/>, free for reuse.</summary>
    public void Retire(CacheLease<T> lease, IEnumerable<T[]>? scratch = null)
    {
        lock (_gate)
        {
            if (lease.Retired) return;
            if (_retired is not null) _retired.Overwritten = true;  // only the last lease retired can be taken back
            _retired = lease;
            lease.Retired = true;
            long elements = 0;
            foreach (var a in lease.Returned) elements += a.Length;  // what the call gave back early counts toward the buffers worth keeping
            foreach (var a in lease.Arrays)
            {
                Give(a);
                if (!lease.WasReturned(a)) elements += a.Length;  // an array given back and rented again counts once
            }
            if (scratch is not null)
                foreach (var a in scratch) elements += Give(a);
            _limit = Math.Max(_limit, Math.Max(2 * elements, _floorBytes / Unsafe.SizeOf<T>()));
            while (_freeElements > _limit)
            {
                var (length, oldest) = _free.MinBy(kv => kv.Value.LastUse);
                _freeElements -= (long)length * oldest.Arrays.Count;
                _free.Remove(length);
            }
        }
    }

    /// <summary>
    /// Makes one of <paramref name="lease"/>'s arrays free for reuse at once, before the lease retires (an array the rest
    /// of the call no longer reads, e.g. an inference layer's input once that layer has run).
    /// </summary>
    public void Return(T[] array, CacheLease<T> lease)
    {
        lock (_gate)
        {
            if (!lease.Arrays.Remove(array)) throw new ArgumentException("array: expected one of the lease's arrays.", nameof(array));
            lease.AddReturned(array);
            Give(array);
        }
    }

    /// <summary>
    /// Makes all of <paramref name="part"/>'s arrays free for reuse, for a lease no Backward can take back (an inference
    /// layer's), recording them in <paramref name="owner"/>, the lease of the whole call, which retires later.
    /// </summary>
    public void Release(CacheLease<T> part, CacheLease<T> owner)
    {
        lock (_gate)
        {
            foreach (var a in part.Arrays)
            {
                owner.AddReturned(a);
                Give(a);
            }
            part.Arrays.Clear();
        }
    }

    /// <summary>Elements of all the arrays this recycler has allocated (not counting reuse): its footprint, for tests.</summary>
    internal long AllocatedElements { get; private set; }

    /// <summary>
    /// Takes a retired lease back for another Backward: possible while none of its arrays has been handed out again;
    /// otherwise throws, since the cache's contents are gone.
    /// </summary>
    public void Reclaim(CacheLease<T> lease)
    {
        lock (_gate)
        {
            CheckReclaimable(lease);
            if (!lease.Retired) return;
            // Its arrays are the ones given last: take each back out of the free lists.
            foreach (var a in lease.Arrays) Take(a);
            _retired = null;
            lease.Retired = false;
        }
    }

    /// <summary>Throws, changing nothing, when <see cref="Reclaim"/> would: the lease's arrays were handed out again.</summary>
    public void CheckReclaimable(CacheLease<T> lease)
    {
        lock (_gate)
        {
            if (lease.Retired && (lease.Overwritten || !ReferenceEquals(_retired, lease)))
                throw new InvalidOperationException(
                    "cache: its buffers have been reused by a later call (a cache can be passed to Backward until the Forward after its " +
                    "first Backward or a Backward of another cache, or, from an evaluation-mode Forward, until the next Forward). Run Forward again.");
        }
    }

    private long Give(T[] array)
    {
        if (!_free.TryGetValue(array.Length, out var bucket)) _free[array.Length] = bucket = new Bucket();
        bucket.Arrays.Add(array);
        bucket.LastUse = ++_clock;
        _freeElements += array.Length;
        return array.Length;
    }

    private void Take(T[] array)
    {
        if (_free.TryGetValue(array.Length, out var bucket) && bucket.Arrays.Remove(array)) _freeElements -= array.Length;
    }
}
