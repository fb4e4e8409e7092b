namespace LstmSharp.Kernels;

/// <summary>Allocation of the arrays that are kept from one call to the next (recycled caches, kernel scratch).</summary>
internal static class LongLivedArray
{
    /// <summary>
    /// An array of <paramref name="length"/> elements, contents unspecified, on the pinned object heap: it lives from
    /// call to call, so the GC should neither copy it when it promotes it nor count it against gen 0's budget (which
    /// lets that much more short-lived garbage pile up before a collection: tens of MB of peak memory in a training
    /// step of B = 32, T = 100, H = 256).
    /// </summary>
    public static T[] Allocate<T>(int length) where T : unmanaged => GC.AllocateUninitializedArray<T>(length, pinned: true);
}
