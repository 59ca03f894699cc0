// Validates FHIR STU3 XML files against the official STU3 XML schema (fhir-single.xsd), read from the
// schema folder of HAPI FHIR's hapi-fhir-validation-resources-dstu3 jar. scripts/setup.sh fetches that jar
// (pinned) into .tools/fhir; nothing is downloaded when this runs. Run as a single-file program:
//   java scripts/fhir/Stu3SchemaCheck.java <jar> <file.xml>...
// One line per file, in order: "OK <file>" or "INVALID <file> <line>:<col> <message>" (first error).
// The JDK's own XSD validator: no dependency beyond the schema. External entities and DTDs are refused.
import java.io.File;
import java.net.URL;
import javax.xml.XMLConstants;
import javax.xml.transform.stream.StreamSource;
import javax.xml.validation.Schema;
import javax.xml.validation.SchemaFactory;
import javax.xml.validation.Validator;
import org.xml.sax.SAXParseException;

public class Stu3SchemaCheck {
  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: java Stu3SchemaCheck.java <hapi-fhir-validation-resources-dstu3.jar> <file.xml>...");
      System.exit(2);
    }
    URL xsd = new URL("jar:" + new File(args[0]).toURI() + "!/org/hl7/fhir/dstu3/model/schema/fhir-single.xsd");
    SchemaFactory factory = SchemaFactory.newInstance(XMLConstants.W3C_XML_SCHEMA_NS_URI);
    // The schema includes its siblings (xml.xsd, fhir-xhtml.xsd) from inside the jar (a jar:file: URL).
    factory.setProperty(XMLConstants.ACCESS_EXTERNAL_SCHEMA, "jar,file");
    factory.setProperty(XMLConstants.ACCESS_EXTERNAL_DTD, "");
    Schema schema = factory.newSchema(xsd);
    for (int i = 1; i < args.length; i++) {
      Validator v = schema.newValidator();
      v.setProperty(XMLConstants.ACCESS_EXTERNAL_DTD, "");
      v.setProperty(XMLConstants.ACCESS_EXTERNAL_SCHEMA, "");
      try {
        v.validate(new StreamSource(new File(args[i])));
        System.out.println("OK " + args[i]);
      } catch (SAXParseException e) {
        System.out.println("INVALID " + args[i] + " " + e.getLineNumber() + ":" + e.getColumnNumber() + " " + e.getMessage().replace('\n', ' '));
      }
    }
  }
}
