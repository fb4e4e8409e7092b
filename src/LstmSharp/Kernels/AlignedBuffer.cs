using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LstmSharp.Kernels;

/// <summary>
/// <see cref="Length"/> elements on the pinned object heap whose first element sits on a 64-byte boundary (a cache
/// line; an AVX-512 vector). A kernel that loads whole vectors from it never has a load split across two cache lines:
/// the GC's own arrays start 16 or 24 bytes past a line (the array header), which splits every 64-byte load in two.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
internal sealed class AlignedBuffer<T> where T : unmanaged
{
    /// <summary>The alignment of the first element, in bytes.</summary>
    public const int Alignment = 64;

    private readonly T[] _array;  // [Length + slack], pinned for life, so the offset stays right
    private readonly int _offset;

    /// <summary>A buffer of <paramref name="length"/> elements, contents unspecified.</summary>
    public AlignedBuffer(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        int size = Unsafe.SizeOf<T>();
        _array = LongLivedArray.Allocate<T>(length + Alignment / size);
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
