namespace LstmSharp.Kernels;

/// <summary>
/// How many threads LstmSharp's computations use. The kernels split a product or a batch in two at most (the calling
/// thread plus one persistent worker), so the choice is one thread or two.
/// </summary>
public static class Parallelism
{
    /// <summary>
    /// Whether two threads can be used at all: the machine has more than one core. (The environment variable
    /// LSTMSHARP_THREADS=1 sets the default of <see cref="MaxThreads"/> to 1.)
    /// </summary>
    public static bool CanUseTwo => Environment.ProcessorCount > 1;

    /// <summary>
    /// The most threads one computation uses: 1, or 2 where <see cref="CanUseTwo"/>. Setting 0 (all the cores) or any
    /// count above 1 asks for as many as the kernels can use, which is 2; 1 keeps everything on the calling thread.
    /// Defaults to 2 on a machine with two or more cores, unless LSTMSHARP_THREADS=1. Results do not depend on it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative value.</exception>
    public static int MaxThreads
    {
        get => Worker.Enabled ? 2 : 1;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value, nameof(MaxThreads));
            Worker.Enabled = value != 1 && CanUseTwo;
        }
    }
}
