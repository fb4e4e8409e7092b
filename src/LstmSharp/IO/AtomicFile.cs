namespace LstmSharp.IO;

/// <summary>Writes a file so that readers see either the old content or the whole new one, never a part.</summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes through <paramref name="write"/> into a temporary file beside <paramref name="path"/>, flushes it to disk,
    /// then renames it over <paramref name="path"/>. If <paramref name="write"/> throws, the old file is left as it was.
    /// A symbolic link stays a link (the file it points at is replaced); a device such as <c>/dev/stdout</c> or
    /// <c>/dev/null</c> is written directly.
    /// </summary>
    /// <param name="path">The destination file.</param>
    /// <param name="write">
    /// Writes the whole content to the stream it is given. It may dispose that stream (e.g. through a
    /// <see cref="StreamWriter"/>): disposing flushes it but leaves the file open for the flush to disk and the rename.
    /// </param>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string given = Path.GetFullPath(path), full = given;
        // A link is kept: the file it points at is replaced. A device or a process's descriptor (/dev/stdout, a pipe)
        // cannot be replaced by a rename, and nothing half-written can be left there: written directly.
        if (new FileInfo(given).LinkTarget is not null && File.ResolveLinkTarget(given, returnFinalTarget: true) is { } target) full = target.FullName;
        if (IsSpecial(given) || IsSpecial(full))
        {
            using var direct = new FileStream(path, FileMode.Open, FileAccess.Write);
            write(new KeepOpenStream(direct));
            direct.Flush();
            return;
        }
        if (Directory.Exists(full)) throw new ArgumentException($"path: '{path}' is a folder; expected the path of a file to write.", nameof(path));
        string dir = Path.GetDirectoryName(full) ?? ".";
        string tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        FileStream fs;
        try
        {
            Directory.CreateDirectory(dir);
            fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new UnauthorizedAccessException($"Cannot write '{path}': no permission to create a file in '{dir}'.", e);
        }
        catch (IOException e)
        {
            throw new IOException($"Cannot write '{path}': {e.Message}", e);
        }
        try
        {
            using (fs)
            {
                write(new KeepOpenStream(fs));
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
        RemoveStaleTemporaries(dir, Path.GetFileName(full));
    }

    /// <summary>
    /// Deletes the temporary files of earlier writes of the same file that were killed before they could clean up
    /// (a crash mid-save leaves a full-size <c>.name.pid.guid.tmp</c>): those of a process that no longer runs, untouched
    /// for 10 minutes. A write in flight (its process alive, its file growing) is never touched; failures are ignored.
    /// </summary>
    private static void RemoveStaleTemporaries(string dir, string name)
    {
        try
        {
            foreach (var file in Directory.EnumerateFiles(dir, $".{name}.*.tmp"))
            {
                var parts = Path.GetFileName(file)[(name.Length + 2)..].Split('.');  // pid, guid, "tmp"
                if (parts.Length != 3 || !int.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int pid)
                    || pid == Environment.ProcessId || DateTime.UtcNow - File.GetLastWriteTimeUtc(file) < TimeSpan.FromMinutes(10) || IsRunning(pid))
                    continue;
                File.Delete(file);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Housekeeping only: the write itself has succeeded, and must not be reported as failed.
        }
    }

    /// <summary>Whether process <paramref name="pid"/> runs; when that cannot be told (e.g. another user's process on Windows), yes.</summary>
    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;  // no process has this id
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return true;
        }
    }

    /// <summary>Whether <paramref name="full"/> is a device, a process's file or a pipe rather than a file in a folder.</summary>
    private static bool IsSpecial(string full) =>
        !OperatingSystem.IsWindows() && (full.StartsWith("/dev/", StringComparison.Ordinal) || full.StartsWith("/proc/", StringComparison.Ordinal));

    /// <summary>Writes <paramref name="contents"/> as UTF-8 (no byte-order mark) to <paramref name="path"/> atomically, as <see cref="Write"/>.</summary>
    public static void WriteAllText(string path, string contents)
    {
        ArgumentNullException.ThrowIfNull(contents);
        Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            writer.Write(contents);
        });
    }

    /// <summary>Passes everything to the file, except that disposing it only flushes: the file stays open.</summary>
    private sealed class KeepOpenStream(FileStream inner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => inner.CanSeek;
        public override bool CanWrite => inner.CanWrite;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => inner.Position = value; }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("The stream is write-only.");
        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void SetLength(long value) => inner.SetLength(value);
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
        public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);
        public override void WriteByte(byte value) => inner.WriteByte(value);

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Flush();
            base.Dispose(disposing);
        }
    }
}
