namespace LstmSharp.IO;

/// <summary>Writes a file so that readers see either the old content or the whole new one, never a part.</summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes through <paramref name="write"/> into a temporary file beside <paramref name="path"/>, flushes it to disk,
    /// then renames it over <paramref name="path"/>. If <paramref name="write"/> throws, the old file is left as it was.
    /// </summary>
    /// <param name="path">The destination file.</param>
    /// <param name="write">Writes the whole content to the stream it is given.</param>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(dir);
        string tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }
}
