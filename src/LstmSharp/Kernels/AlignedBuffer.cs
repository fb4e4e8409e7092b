using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LstmSharp.Kernels;

/// <summary>
/// <see cref="Length"/> elements whose first element sits on a 64-byte boundary (a cache line; an AVX-512 vector): a
/// slice of an array that starts there. A kernel that loads whole vectors from it never has a load split across two
/// cache lines: the GC's own arrays start at any multiple of 8 bytes past a line (after the array header; in this
/// process's large arrays, 24 or 48), and every 64-byte load from such an array is split in two.
/// </summary>
/// <remarks>
/// A large buffer is an ordinary array on the large object heap, which the GC moves rarely if ever (by default only
/// when the application asks it to compact that heap, or under a hard heap limit when memory runs short; a raised
/// GCLOHThreshold puts it on the ordinary heap). On the pinned object heap, the packed weights measured up to 25 MB more
/// peak memory in a (64, 128, 128, 512) training step, as allocations there do not count towards the collections that
/// free the large garbage of the step before. A small buffer is pinned, as a compacting collection would move it.
/// Should the GC move one all the same, only the alignment (speed) is lost: the slice is kept as an index.
/// </remarks>
/// <typeparam name="T">The element type.</typeparam>
internal sealed class AlignedBuffer<T> where T : unmanaged
{
    /// <summary>The alignment of the first element, in bytes.</summary>
    public const int Alignment = 64;

    /// <summary>The size from which the runtime puts an array on the large object heap (by default).</summary>
    private const int LargeObjectBytes = 85_000;

    private readonly T[] _array;  // [Length + slack]: the buffer is [_offset, _offset + Length)
    private readonly int _offset;

    /// <summary>A buffer of <paramref name="length"/> elements, contents unspecified.</summary>
    public AlignedBuffer(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        int size = Unsafe.SizeOf<T>();
        Debug.Assert(8 % size == 0, "an element size that divides the GC's 8-byte array alignment (so that some element falls on the boundary)");
        int total = length + Alignment / size;
        _array = (long)total * size >= LargeObjectBytes ? GC.AllocateUninitializedArray<T>(total) : LongLivedArray.Allocate<T>(total);
        long misalignment = Address(_array) & (Alignment - 1);  // a multiple of the element size (the GC aligns an array's data to 8 bytes)
        _offset = misalignment == 0 ? 0 : (int)((Alignment - misalignment) / size);
        Length = length;
    }

    /// <summary>The number of elements.</summary>
    public int Length { get; }

    /// <summary>The elements, [Length], starting on a 64-byte boundary.</summary>
    public Span<T> Span => new(_array, _offset, Length);

    /// <summary>A reference to the first element (on a 64-byte boundary).</summary>
    public ref T Reference => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_array), _offset);

    private static unsafe long Address(T[] array) => (long)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
}
