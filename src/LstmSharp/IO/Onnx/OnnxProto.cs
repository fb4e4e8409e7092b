using System.Buffers.Binary;
using System.Text;

namespace LstmSharp.IO.Onnx;

// The few ONNX messages this library reads and writes, with their field numbers written out by hand from the
// public ONNX specification (onnx.proto, IR version 8). Fields not listed here are skipped when reading.

/// <summary>Element types of <c>TensorProto.DataType</c> (onnx.proto), those this library meets.</summary>
internal enum OnnxDataType
{
    Undefined = 0,
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    UInt16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Double = 11,
    UInt32 = 12,
    UInt64 = 13,
}

/// <summary><c>AttributeProto.AttributeType</c> (onnx.proto).</summary>
internal enum OnnxAttributeType
{
    Undefined = 0,
    Float = 1,
    Int = 2,
    String = 3,
    Tensor = 4,
    Graph = 5,
    Floats = 6,
    Ints = 7,
    Strings = 8,
    Tensors = 9,
    Graphs = 10,
}

/// <summary>Field numbers of the messages, from onnx.proto.</summary>
internal static class OnnxFields
{
    // ModelProto
    public const int ModelIrVersion = 1;        // int64 ir_version
    public const int ModelProducerName = 2;     // string producer_name
    public const int ModelProducerVersion = 3;  // string producer_version
    public const int ModelDomain = 4;           // string domain
    public const int ModelVersion = 5;          // int64 model_version
    public const int ModelDocString = 6;        // string doc_string
    public const int ModelGraph = 7;            // GraphProto graph
    public const int ModelOpsetImport = 8;      // repeated OperatorSetIdProto opset_import

    // OperatorSetIdProto
    public const int OpsetDomain = 1;           // string domain
    public const int OpsetVersion = 2;          // int64 version

    // GraphProto
    public const int GraphNode = 1;             // repeated NodeProto node
    public const int GraphName = 2;             // string name
    public const int GraphInitializer = 5;      // repeated TensorProto initializer
    public const int GraphDocString = 10;       // string doc_string
    public const int GraphInput = 11;           // repeated ValueInfoProto input
    public const int GraphOutput = 12;          // repeated ValueInfoProto output
    public const int GraphValueInfo = 13;       // repeated ValueInfoProto value_info

    // NodeProto
    public const int NodeInput = 1;             // repeated string input
    public const int NodeOutput = 2;            // repeated string output
    public const int NodeName = 3;              // string name
    public const int NodeOpType = 4;            // string op_type
    public const int NodeAttribute = 5;         // repeated AttributeProto attribute
    public const int NodeDocString = 6;         // string doc_string
    public const int NodeDomain = 7;            // string domain

    // AttributeProto
    public const int AttrName = 1;              // string name
    public const int AttrF = 2;                 // float f
    public const int AttrI = 3;                 // int64 i
    public const int AttrS = 4;                 // bytes s
    public const int AttrT = 5;                 // TensorProto t
    public const int AttrG = 6;                 // GraphProto g
    public const int AttrFloats = 7;            // repeated float floats
    public const int AttrInts = 8;              // repeated int64 ints
    public const int AttrStrings = 9;           // repeated bytes strings
    public const int AttrType = 20;             // AttributeType type

    // TensorProto
    public const int TensorDims = 1;            // repeated int64 dims
    public const int TensorDataType = 2;        // int32 data_type
    public const int TensorFloatData = 4;       // repeated float float_data (packed)
    public const int TensorInt32Data = 5;       // repeated int32 int32_data (packed)
    public const int TensorInt64Data = 7;       // repeated int64 int64_data (packed)
    public const int TensorName = 8;            // string name
    public const int TensorRawData = 9;         // bytes raw_data
    public const int TensorDoubleData = 10;     // repeated double double_data (packed)
    public const int TensorExternalData = 13;   // repeated StringStringEntryProto external_data
    public const int TensorDataLocation = 14;   // DataLocation data_location (1 = EXTERNAL)

    // ValueInfoProto
    public const int ValueInfoName = 1;         // string name
    public const int ValueInfoType = 2;         // TypeProto type

    // TypeProto
    public const int TypeTensorType = 1;        // TypeProto.Tensor tensor_type

    // TypeProto.Tensor
    public const int TensorTypeElemType = 1;    // int32 elem_type
    public const int TensorTypeShape = 2;       // TensorShapeProto shape

    // TensorShapeProto
    public const int ShapeDim = 1;              // repeated Dimension dim

    // TensorShapeProto.Dimension
    public const int DimValue = 1;              // int64 dim_value
    public const int DimParam = 2;              // string dim_param
}

/// <summary>ModelProto: the top-level message of an .onnx file.</summary>
internal sealed class OnnxModelProto
{
    /// <summary>The deepest nesting of graphs in attributes accepted when reading.</summary>
    public const int MaxDepth = 32;

    public long IrVersion { get; set; }
    public List<(string Domain, long Version)> OpsetImports { get; } = [];
    public string ProducerName { get; set; } = "";
    public string ProducerVersion { get; set; } = "";
    public string Domain { get; set; } = "";
    public long ModelVersion { get; set; }
    public string DocString { get; set; } = "";
    public OnnxGraphProto Graph { get; set; } = new();

    public byte[] ToBytes()
    {
        var w = new ProtoWriter();
        w.WriteInt64(OnnxFields.ModelIrVersion, IrVersion);
        if (ProducerName.Length > 0) w.WriteString(OnnxFields.ModelProducerName, ProducerName);
        if (ProducerVersion.Length > 0) w.WriteString(OnnxFields.ModelProducerVersion, ProducerVersion);
        if (Domain.Length > 0) w.WriteString(OnnxFields.ModelDomain, Domain);
        if (ModelVersion != 0) w.WriteInt64(OnnxFields.ModelVersion, ModelVersion);
        if (DocString.Length > 0) w.WriteString(OnnxFields.ModelDocString, DocString);
        w.WriteMessage(OnnxFields.ModelGraph, Graph.WriteTo);
        foreach (var (domain, version) in OpsetImports)
        {
            w.WriteMessage(OnnxFields.ModelOpsetImport, o =>
            {
                if (domain.Length > 0) o.WriteString(OnnxFields.OpsetDomain, domain);
                o.WriteInt64(OnnxFields.OpsetVersion, version);
            });
        }
        return w.ToArray();
    }

    public static OnnxModelProto Parse(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0) throw new InvalidDataException("ONNX: the file is empty.");
        var model = new OnnxModelProto();
        bool hasGraph = false;
        var r = new ProtoReader(bytes, "ModelProto");
        while (r.TryReadTag(out int field, out var type))
        {
            switch (field)
            {
                case OnnxFields.ModelIrVersion: r.Expect(type, WireType.Varint, "ir_version"); model.IrVersion = r.ReadInt64(); break;
                case OnnxFields.ModelProducerName: r.Expect(type, WireType.LengthDelimited, "producer_name"); model.ProducerName = r.ReadString(); break;
                case OnnxFields.ModelProducerVersion: r.Expect(type, WireType.LengthDelimited, "producer_version"); model.ProducerVersion = r.ReadString(); break;
                case OnnxFields.ModelDomain: r.Expect(type, WireType.LengthDelimited, "domain"); model.Domain = r.ReadString(); break;
                case OnnxFields.ModelVersion: r.Expect(type, WireType.Varint, "model_version"); model.ModelVersion = r.ReadInt64(); break;
                case OnnxFields.ModelDocString: r.Expect(type, WireType.LengthDelimited, "doc_string"); model.DocString = r.ReadString(); break;
                case OnnxFields.ModelGraph:
                    r.Expect(type, WireType.LengthDelimited, "graph");
                    var g = r.ReadMessage("GraphProto");
                    model.Graph = OnnxGraphProto.Read(ref g, 0);
                    hasGraph = true;
                    break;
                case OnnxFields.ModelOpsetImport:
                    r.Expect(type, WireType.LengthDelimited, "opset_import");
                    var o = r.ReadMessage("OperatorSetIdProto");
                    string domain = "";
                    long version = 0;
                    while (o.TryReadTag(out int f, out var t))
                    {
                        if (f == OnnxFields.OpsetDomain) { o.Expect(t, WireType.LengthDelimited, "domain"); domain = o.ReadString(); }
                        else if (f == OnnxFields.OpsetVersion) { o.Expect(t, WireType.Varint, "version"); version = o.ReadInt64(); }
                        else o.Skip(t);
                    }
                    model.OpsetImports.Add((domain, version));
                    break;
                default: r.Skip(type); break;
            }
        }
        if (!hasGraph) throw new InvalidDataException("ONNX: the file has no graph (not an ONNX model, or truncated before it).");
        return model;
    }
}

/// <summary>GraphProto: nodes in topological order, initializers, inputs and outputs.</summary>
internal sealed class OnnxGraphProto
{
    public string Name { get; set; } = "";
    public List<OnnxNodeProto> Nodes { get; } = [];
    public List<OnnxTensorProto> Initializers { get; } = [];
    public List<OnnxValueInfoProto> Inputs { get; } = [];
    public List<OnnxValueInfoProto> Outputs { get; } = [];
    public List<OnnxValueInfoProto> ValueInfos { get; } = [];
    public string DocString { get; set; } = "";

    public void WriteTo(ProtoWriter w)
    {
        foreach (var n in Nodes) w.WriteMessage(OnnxFields.GraphNode, n.WriteTo);
        if (Name.Length > 0) w.WriteString(OnnxFields.GraphName, Name);
        foreach (var t in Initializers) w.WriteMessage(OnnxFields.GraphInitializer, t.WriteTo);
        if (DocString.Length > 0) w.WriteString(OnnxFields.GraphDocString, DocString);
        foreach (var v in Inputs) w.WriteMessage(OnnxFields.GraphInput, v.WriteTo);
        foreach (var v in Outputs) w.WriteMessage(OnnxFields.GraphOutput, v.WriteTo);
        foreach (var v in ValueInfos) w.WriteMessage(OnnxFields.GraphValueInfo, v.WriteTo);
    }

    public static OnnxGraphProto Read(ref ProtoReader r, int depth)
    {
        if (depth > OnnxModelProto.MaxDepth)
            throw new InvalidDataException($"ONNX: corrupt file: graphs nested deeper than {OnnxModelProto.MaxDepth} levels.");
        var g = new OnnxGraphProto();
        while (r.TryReadTag(out int field, out var type))
        {
            switch (field)
            {
                case OnnxFields.GraphNode:
                    r.Expect(type, WireType.LengthDelimited, "node");
                    var n = r.ReadMessage("NodeProto");
                    g.Nodes.Add(OnnxNodeProto.Read(ref n, depth));
                    break;
                case OnnxFields.GraphName: r.Expect(type, WireType.LengthDelimited, "name"); g.Name = r.ReadString(); break;
                case OnnxFields.GraphInitializer:
                    r.Expect(type, WireType.LengthDelimited, "initializer");
                    var t = r.ReadMessage("TensorProto");
                    g.Initializers.Add(OnnxTensorProto.Read(ref t));
                    break;
                case OnnxFields.GraphDocString: r.Expect(type, WireType.LengthDelimited, "doc_string"); g.DocString = r.ReadString(); break;
                case OnnxFields.GraphInput or OnnxFields.GraphOutput or OnnxFields.GraphValueInfo:
                    r.Expect(type, WireType.LengthDelimited, "value info");
                    var v = r.ReadMessage("ValueInfoProto");
                    var info = OnnxValueInfoProto.Read(ref v);
                    (field == OnnxFields.GraphInput ? g.Inputs : field == OnnxFields.GraphOutput ? g.Outputs : g.ValueInfos).Add(info);
                    break;
                default: r.Skip(type); break;
            }
        }
        return g;
    }
}

/// <summary>NodeProto: one operator call.</summary>
internal sealed class OnnxNodeProto
{
    public string Name { get; set; } = "";
    public string OpType { get; set; } = "";
    public string Domain { get; set; } = "";
    public List<string> Inputs { get; } = [];
    public List<string> Outputs { get; } = [];
    public List<OnnxAttributeProto> Attributes { get; } = [];

    /// <summary>The node as error messages name it: <c>'name' (op_type)</c>.</summary>
    public string Describe() => $"'{(Name.Length > 0 ? Name : "<unnamed>")}' ({OpType})";

    public OnnxAttributeProto? Attribute(string name) => Attributes.FirstOrDefault(a => a.Name == name);

    /// <summary>The i-th input, or empty when absent (an optional input left out).</summary>
    public string Input(int i) => i < Inputs.Count ? Inputs[i] : "";

    public void WriteTo(ProtoWriter w)
    {
        foreach (var s in Inputs) w.WriteString(OnnxFields.NodeInput, s);
        foreach (var s in Outputs) w.WriteString(OnnxFields.NodeOutput, s);
        if (Name.Length > 0) w.WriteString(OnnxFields.NodeName, Name);
        w.WriteString(OnnxFields.NodeOpType, OpType);
        foreach (var a in Attributes) w.WriteMessage(OnnxFields.NodeAttribute, a.WriteTo);
        if (Domain.Length > 0) w.WriteString(OnnxFields.NodeDomain, Domain);
    }

    public static OnnxNodeProto Read(ref ProtoReader r, int depth)
    {
        var n = new OnnxNodeProto();
        while (r.TryReadTag(out int field, out var type))
        {
            switch (field)
            {
                case OnnxFields.NodeInput: r.Expect(type, WireType.LengthDelimited, "input"); n.Inputs.Add(r.ReadString()); break;
                case OnnxFields.NodeOutput: r.Expect(type, WireType.LengthDelimited, "output"); n.Outputs.Add(r.ReadString()); break;
                case OnnxFields.NodeName: r.Expect(type, WireType.LengthDelimited, "name"); n.Name = r.ReadString(); break;
                case OnnxFields.NodeOpType: r.Expect(type, WireType.LengthDelimited, "op_type"); n.OpType = r.ReadString(); break;
                case OnnxFields.NodeDomain: r.Expect(type, WireType.LengthDelimited, "domain"); n.Domain = r.ReadString(); break;
                case OnnxFields.NodeAttribute:
                    r.Expect(type, WireType.LengthDelimited, "attribute");
                    var a = r.ReadMessage("AttributeProto");
                    n.Attributes.Add(OnnxAttributeProto.Read(ref a, depth));
                    break;
                default: r.Skip(type); break;
            }
        }
        return n;
    }
}

/// <summary>AttributeProto: a named constant argument of a node.</summary>
internal sealed class OnnxAttributeProto
{
    public string Name { get; set; } = "";
    public OnnxAttributeType Type { get; set; }
    public float F { get; set; }
    public long I { get; set; }
    public byte[] S { get; set; } = [];
    public OnnxTensorProto? T { get; set; }
    public OnnxGraphProto? G { get; set; }
    public List<float> Floats { get; } = [];
    public List<long> Ints { get; } = [];
    public List<byte[]> Strings { get; } = [];

    public string StringValue => Encoding.UTF8.GetString(S);

    public static OnnxAttributeProto Int(string name, long value) => new() { Name = name, Type = OnnxAttributeType.Int, I = value };

    public static OnnxAttributeProto Float(string name, float value) => new() { Name = name, Type = OnnxAttributeType.Float, F = value };

    public static OnnxAttributeProto String(string name, string value) =>
        new() { Name = name, Type = OnnxAttributeType.String, S = Encoding.UTF8.GetBytes(value) };

    public static OnnxAttributeProto IntList(string name, params long[] values)
    {
        var a = new OnnxAttributeProto { Name = name, Type = OnnxAttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public static OnnxAttributeProto Tensor(string name, OnnxTensorProto value) => new() { Name = name, Type = OnnxAttributeType.Tensor, T = value };

    public void WriteTo(ProtoWriter w)
    {
        w.WriteString(OnnxFields.AttrName, Name);
        switch (Type)
        {
            case OnnxAttributeType.Float: w.WriteFloat(OnnxFields.AttrF, F); break;
            case OnnxAttributeType.Int: w.WriteInt64(OnnxFields.AttrI, I); break;
            case OnnxAttributeType.String: w.WriteBytes(OnnxFields.AttrS, S); break;
            case OnnxAttributeType.Tensor: w.WriteMessage(OnnxFields.AttrT, T!.WriteTo); break;
            case OnnxAttributeType.Graph: w.WriteMessage(OnnxFields.AttrG, G!.WriteTo); break;
            case OnnxAttributeType.Floats: w.WritePackedFloat(OnnxFields.AttrFloats, Floats); break;
            case OnnxAttributeType.Ints: w.WritePackedInt64(OnnxFields.AttrInts, Ints); break;
            case OnnxAttributeType.Strings: foreach (var s in Strings) w.WriteBytes(OnnxFields.AttrStrings, s); break;
            default: throw new InvalidOperationException($"ONNX: cannot write attribute '{Name}' of type {Type}.");
        }
        w.WriteInt64(OnnxFields.AttrType, (long)Type);
    }

    public static OnnxAttributeProto Read(ref ProtoReader r, int depth)
    {
        var a = new OnnxAttributeProto();
        while (r.TryReadTag(out int field, out var type))
        {
            switch (field)
            {
                case OnnxFields.AttrName: r.Expect(type, WireType.LengthDelimited, "name"); a.Name = r.ReadString(); break;
                case OnnxFields.AttrType: r.Expect(type, WireType.Varint, "type"); a.Type = (OnnxAttributeType)r.ReadInt32(); break;
                case OnnxFields.AttrF: r.Expect(type, WireType.Fixed32, "f"); a.F = r.ReadFloat(); break;
                case OnnxFields.AttrI: r.Expect(type, WireType.Varint, "i"); a.I = r.ReadInt64(); break;
                case OnnxFields.AttrS: r.Expect(type, WireType.LengthDelimited, "s"); a.S = r.ReadBytes().ToArray(); break;
                case OnnxFields.AttrT:
                    r.Expect(type, WireType.LengthDelimited, "t");
                    var t = r.ReadMessage("TensorProto");
                    a.T = OnnxTensorProto.Read(ref t);
                    break;
                case OnnxFields.AttrG:
                    r.Expect(type, WireType.LengthDelimited, "g");
                    var g = r.ReadMessage("GraphProto");
                    a.G = OnnxGraphProto.Read(ref g, depth + 1);
                    break;
                case OnnxFields.AttrFloats: r.ReadRepeatedFloat(type, a.Floats); break;
                case OnnxFields.AttrInts: r.ReadRepeatedInt64(type, a.Ints); break;
                case OnnxFields.AttrStrings: r.Expect(type, WireType.LengthDelimited, "strings"); a.Strings.Add(r.ReadBytes().ToArray()); break;
                default: r.Skip(type); break;
            }
        }
        return a;
    }
}

/// <summary>
/// TensorProto: a constant tensor. Whatever field held the elements when read (raw_data, float_data, int64_data, ...),
/// they are kept here as little-endian bytes of <see cref="DataType"/>, as raw_data would hold them.
/// </summary>
internal sealed class OnnxTensorProto
{
    public string Name { get; set; } = "";
    public OnnxDataType DataType { get; set; }
    public long[] Dims { get; set; } = [];
    public byte[] RawData { get; set; } = [];

    /// <summary>The byte size of one element, or 0 for types without a fixed size.</summary>
    public static int ElementSize(OnnxDataType type) => type switch
    {
        OnnxDataType.Float or OnnxDataType.Int32 or OnnxDataType.UInt32 => 4,
        OnnxDataType.Double or OnnxDataType.Int64 or OnnxDataType.UInt64 => 8,
        OnnxDataType.UInt8 or OnnxDataType.Int8 or OnnxDataType.Bool => 1,
        OnnxDataType.UInt16 or OnnxDataType.Int16 or OnnxDataType.Float16 => 2,
        _ => 0,
    };

    /// <summary>The number of elements the dims describe; checked against the data when read.</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Dims) n *= d;
            return n;
        }
    }

    public static OnnxTensorProto FromFloats(string name, float[] values, params long[] dims)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        return new OnnxTensorProto { Name = name, DataType = OnnxDataType.Float, Dims = dims, RawData = bytes };
    }

    public static OnnxTensorProto FromDoubles(string name, double[] values, params long[] dims)
    {
        var bytes = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * 8), values[i]);
        return new OnnxTensorProto { Name = name, DataType = OnnxDataType.Double, Dims = dims, RawData = bytes };
    }

    public static OnnxTensorProto FromInt64s(string name, long[] values, params long[] dims)
    {
        var bytes = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * 8), values[i]);
        return new OnnxTensorProto { Name = name, DataType = OnnxDataType.Int64, Dims = dims, RawData = bytes };
    }

    public static OnnxTensorProto FromInt32s(string name, int[] values, params long[] dims)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(i * 4), values[i]);
        return new OnnxTensorProto { Name = name, DataType = OnnxDataType.Int32, Dims = dims, RawData = bytes };
    }

    /// <summary>The elements as doubles (from FLOAT, DOUBLE or FLOAT16).</summary>
    public double[] ToDoubles()
    {
        int size = ElementSize(DataType);
        var result = new double[RawData.Length / Math.Max(size, 1)];
        var s = RawData.AsSpan();
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = DataType switch
            {
                OnnxDataType.Float => BinaryPrimitives.ReadSingleLittleEndian(s[(i * 4)..]),
                OnnxDataType.Double => BinaryPrimitives.ReadDoubleLittleEndian(s[(i * 8)..]),
                OnnxDataType.Float16 => (double)BinaryPrimitives.ReadHalfLittleEndian(s[(i * 2)..]),
                _ => throw new InvalidDataException($"ONNX: tensor '{Name}' has element type {DataType}, expected a floating-point type."),
            };
        }
        return result;
    }

    /// <summary>The elements as int64 (from INT64, INT32, INT16, INT8, UINT8, UINT16, UINT32 or BOOL).</summary>
    public long[] ToInt64s()
    {
        int size = ElementSize(DataType);
        var result = new long[RawData.Length / Math.Max(size, 1)];
        var s = RawData.AsSpan();
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = DataType switch
            {
                OnnxDataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(s[(i * 8)..]),
                OnnxDataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(s[(i * 4)..]),
                OnnxDataType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(s[(i * 4)..]),
                OnnxDataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(s[(i * 2)..]),
                OnnxDataType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(s[(i * 2)..]),
                OnnxDataType.Int8 => (sbyte)s[i],
                OnnxDataType.UInt8 or OnnxDataType.Bool => s[i],
                _ => throw new InvalidDataException($"ONNX: tensor '{Name}' has element type {DataType}, expected an integer type."),
            };
        }
        return result;
    }

    public void WriteTo(ProtoWriter w)
    {
        w.WritePackedInt64(OnnxFields.TensorDims, Dims);
        w.WriteInt64(OnnxFields.TensorDataType, (long)DataType);
        if (Name.Length > 0) w.WriteString(OnnxFields.TensorName, Name);
        w.WriteBytes(OnnxFields.TensorRawData, RawData);
    }

    public static OnnxTensorProto Read(ref ProtoReader r)
    {
        var t = new OnnxTensorProto();
        var dims = new List<long>();
        byte[]? raw = null;
        List<float>? floats = null;
        List<double>? doubles = null;
        List<long>? ints = null; // int32_data or int64_data
        bool external = false;
        while (r.TryReadTag(out int field, out var type))
        {
            switch (field)
            {
                case OnnxFields.TensorDims: r.ReadRepeatedInt64(type, dims); break;
                case OnnxFields.TensorDataType: r.Expect(type, WireType.Varint, "data_type"); t.DataType = (OnnxDataType)r.ReadInt32(); break;
                case OnnxFields.TensorName: r.Expect(type, WireType.LengthDelimited, "name"); t.Name = r.ReadString(); break;
                case OnnxFields.TensorRawData: r.Expect(type, WireType.LengthDelimited, "raw_data"); raw = r.ReadBytes().ToArray(); break;
                case OnnxFields.TensorFloatData: r.ReadRepeatedFloat(type, floats ??= []); break;
                case OnnxFields.TensorDoubleData: r.ReadRepeatedDouble(type, doubles ??= []); break;
                case OnnxFields.TensorInt32Data or OnnxFields.TensorInt64Data: r.ReadRepeatedInt64(type, ints ??= []); break;
                case OnnxFields.TensorDataLocation: r.Expect(type, WireType.Varint, "data_location"); external |= r.ReadInt64() == 1; break;
                case OnnxFields.TensorExternalData: r.Skip(type); external = true; break;
                default: r.Skip(type); break;
            }
        }
        t.Dims = [.. dims];
        string name = t.Name.Length > 0 ? $"'{t.Name}'" : "<unnamed>";
        if (external)
            throw new NotSupportedException($"ONNX: tensor {name} keeps its data in an external file, which is not supported; save the model with the weights inside the .onnx file.");
        foreach (long d in t.Dims)
            if (d < 0) throw new InvalidDataException($"ONNX: tensor {name} has a negative dimension in dims [{string.Join(", ", t.Dims)}].");
        int size = ElementSize(t.DataType);
        if (size == 0)
            throw new NotSupportedException($"ONNX: tensor {name} has element type {t.DataType} ({(int)t.DataType}), which is not supported.");
        long count = t.Dims.Contains(0) ? 0 : 1; // a zero dimension makes it empty, whatever the others are
        foreach (long d in t.Dims)
        {
            if (count == 0) break;
            if (count > int.MaxValue / d) // then count * d > int.MaxValue: checked before multiplying, so it cannot wrap
                throw new InvalidDataException($"ONNX: tensor {name} with dims [{string.Join(", ", t.Dims)}] is too large.");
            count *= d;
        }
        t.RawData = raw ?? Encode(t.DataType, size, floats, doubles, ints);
        if (t.RawData.Length != count * size)
            throw new InvalidDataException(
                $"ONNX: tensor {name} of type {t.DataType} and dims [{string.Join(", ", t.Dims)}] needs {count} elements ({count * size} bytes), but holds {t.RawData.Length / size} ({t.RawData.Length} bytes).");
        return t;
    }

    private static byte[] Encode(OnnxDataType type, int size, List<float>? floats, List<double>? doubles, List<long>? ints)
    {
        if (floats is not null)
        {
            if (type != OnnxDataType.Float) throw new InvalidDataException($"ONNX: a tensor of type {type} stores its elements in float_data.");
            var b = new byte[floats.Count * 4];
            for (int i = 0; i < floats.Count; i++) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(i * 4), floats[i]);
            return b;
        }
        if (doubles is not null)
        {
            if (type != OnnxDataType.Double) throw new InvalidDataException($"ONNX: a tensor of type {type} stores its elements in double_data.");
            var b = new byte[doubles.Count * 8];
            for (int i = 0; i < doubles.Count; i++) BinaryPrimitives.WriteDoubleLittleEndian(b.AsSpan(i * 8), doubles[i]);
            return b;
        }
        if (ints is not null)
        {
            var b = new byte[ints.Count * size];
            for (int i = 0; i < ints.Count; i++)
            {
                var dst = b.AsSpan(i * size);
                switch (size)
                {
                    case 8: BinaryPrimitives.WriteInt64LittleEndian(dst, ints[i]); break;
                    case 4: BinaryPrimitives.WriteInt32LittleEndian(dst, (int)ints[i]); break;
                    case 2: BinaryPrimitives.WriteInt16LittleEndian(dst, (short)ints[i]); break;
                    default: dst[0] = (byte)ints[i]; break;
                }
            }
            return b;
        }
        return [];
    }
}

/// <summary>ValueInfoProto with a tensor type: a graph input's or output's name, element type and shape.</summary>
internal sealed class OnnxValueInfoProto
{
    public string Name { get; set; } = "";
    public OnnxDataType ElemType { get; set; }

    /// <summary>The dimensions: a fixed size, or a symbolic name (dim_param) for a dynamic axis; null when the shape is unknown.</summary>
    public List<(long? Value, string? Param)>? Shape { get; set; }

    public static OnnxValueInfoProto Tensor(string name, OnnxDataType type, params object[] dims) => new()
    {
        Name = name,
        ElemType = type,
        Shape = dims.Select(d => d is string s ? ((long?)null, (string?)s) : ((long?)Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture), (string?)null)).ToList(),
    };

    public void WriteTo(ProtoWriter w)
    {
        w.WriteString(OnnxFields.ValueInfoName, Name);
        w.WriteMessage(OnnxFields.ValueInfoType, type => type.WriteMessage(OnnxFields.TypeTensorType, tensor =>
        {
            tensor.WriteInt64(OnnxFields.TensorTypeElemType, (long)ElemType);
            if (Shape is null) return;
            tensor.WriteMessage(OnnxFields.TensorTypeShape, shape =>
            {
                foreach (var (value, param) in Shape)
                {
                    shape.WriteMessage(OnnxFields.ShapeDim, dim =>
                    {
                        if (value is long v) dim.WriteInt64(OnnxFields.DimValue, v);
                        else if (param is not null) dim.WriteString(OnnxFields.DimParam, param);
                    });
                }
            });
        }));
    }

    public static OnnxValueInfoProto Read(ref ProtoReader r)
    {
        var v = new OnnxValueInfoProto();
        while (r.TryReadTag(out int field, out var type))
        {
            if (field == OnnxFields.ValueInfoName) { r.Expect(type, WireType.LengthDelimited, "name"); v.Name = r.ReadString(); }
            else if (field == OnnxFields.ValueInfoType)
            {
                r.Expect(type, WireType.LengthDelimited, "type");
                var tp = r.ReadMessage("TypeProto");
                while (tp.TryReadTag(out int f, out var t))
                {
                    if (f != OnnxFields.TypeTensorType) { tp.Skip(t); continue; }
                    tp.Expect(t, WireType.LengthDelimited, "tensor_type");
                    var tt = tp.ReadMessage("TypeProto.Tensor");
                    while (tt.TryReadTag(out int f2, out var t2))
                    {
                        if (f2 == OnnxFields.TensorTypeElemType) { tt.Expect(t2, WireType.Varint, "elem_type"); v.ElemType = (OnnxDataType)tt.ReadInt32(); }
                        else if (f2 == OnnxFields.TensorTypeShape)
                        {
                            tt.Expect(t2, WireType.LengthDelimited, "shape");
                            var sh = tt.ReadMessage("TensorShapeProto");
                            v.Shape = [];
                            while (sh.TryReadTag(out int f3, out var t3))
                            {
                                if (f3 != OnnxFields.ShapeDim) { sh.Skip(t3); continue; }
                                sh.Expect(t3, WireType.LengthDelimited, "dim");
                                var d = sh.ReadMessage("TensorShapeProto.Dimension");
                                long? value = null;
                                string? param = null;
                                while (d.TryReadTag(out int f4, out var t4))
                                {
                                    if (f4 == OnnxFields.DimValue) { d.Expect(t4, WireType.Varint, "dim_value"); value = d.ReadInt64(); }
                                    else if (f4 == OnnxFields.DimParam) { d.Expect(t4, WireType.LengthDelimited, "dim_param"); param = d.ReadString(); }
                                    else d.Skip(t4);
                                }
                                v.Shape.Add((value, param));
                            }
                        }
                        else tt.Skip(t2);
                    }
                }
            }
            else r.Skip(type);
        }
        return v;
    }
}
