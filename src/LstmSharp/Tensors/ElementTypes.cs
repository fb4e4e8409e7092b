namespace LstmSharp.Tensors;

/// <summary>The element types LstmSharp computes in: <see cref="float"/> and <see cref="double"/>.</summary>
internal static class ElementTypes
{
    /// <summary>Throws a <see cref="NotSupportedException"/> naming <typeparamref name="T"/> unless it is float or double.</summary>
    public static void Check<T>()
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
            throw new NotSupportedException(
                $"T = {typeof(T).Name}: LstmSharp's layers, losses and optimizers compute in float or double; convert the data (e.g. Tensor<T>.Cast<float>()).");
    }
}
