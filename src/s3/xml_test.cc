#include "s3/xml.h"

#include <gtest/gtest.h>

namespace ingestor::s3 {
namespace {

TEST(S3Xml, ErrorDocument) {
  auto e = parse_error_xml(
      R"(<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>
<Key>a/b</Key><RequestId>4442587FB7D0A2F9</RequestId><HostId>h==</HostId></Error>)");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "NoSuchKey");
  EXPECT_EQ(e->message, "The specified key does not exist.");
  EXPECT_EQ(e->resource, "a/b");
  EXPECT_EQ(e->request_id, "4442587FB7D0A2F9");
  EXPECT_EQ(e->host_id, "h==");

  // SignatureDoesNotMatch with the debugging elements, and a BucketName resource.
  e = parse_error_xml(
      "<Error><Code>SignatureDoesNotMatch</Code><Message>m</Message><StringToSign>x</StringToSign>"
      "<BucketName>b</BucketName></Error>");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "SignatureDoesNotMatch");
  EXPECT_EQ(e->resource, "b");

  EXPECT_FALSE(parse_error_xml(""));
  EXPECT_FALSE(parse_error_xml("<html>502 Bad Gateway</html>"));
  EXPECT_FALSE(parse_error_xml("<Error><Code>x</Code>"));  // truncated
  EXPECT_FALSE(parse_error_xml("<CompleteMultipartUploadResult/>"));
}

TEST(S3Xml, InitiateMultipartUpload) {
  auto id = parse_initiate_multipart_upload(
      R"(<?xml version="1.0" encoding="UTF-8"?>
<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
<Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2FkIElE</UploadId></InitiateMultipartUploadResult>)");
  ASSERT_TRUE(id);
  EXPECT_EQ(*id, "VXBsb2FkIElE");
  EXPECT_FALSE(parse_initiate_multipart_upload("<InitiateMultipartUploadResult/>"));
  EXPECT_FALSE(parse_initiate_multipart_upload("<Error><Code>x</Code></Error>"));
}

TEST(S3Xml, CompleteMultipartUpload) {
  auto r = parse_complete_multipart_upload(
      R"(<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
<Location>http://b.s3.amazonaws.com/k</Location><Bucket>b</Bucket><Key>k</Key>
<ETag>&quot;3858f62230ac3c915f300c664312c11f-9&quot;</ETag></CompleteMultipartUploadResult>)");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->etag, "\"3858f62230ac3c915f300c664312c11f-9\"");
  EXPECT_EQ(r->key, "k");
  EXPECT_EQ(r->bucket, "b");
  EXPECT_EQ(r->location, "http://b.s3.amazonaws.com/k");

  // moto 5.2.1 names the root CompleteMultipartUploadResponse.
  r = parse_complete_multipart_upload(
      "<CompleteMultipartUploadResponse><Bucket>b</Bucket><Key>k</Key><ETag>\"x-2\"</ETag>"
      "</CompleteMultipartUploadResponse>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->etag, "\"x-2\"");

  // The 200-with-error quirk: the body is an <Error>, which the complete parser refuses and the
  // error parser recognises (leading whitespace keep-alives included).
  std::string quirk =
      "\n   \n<Error><Code>InternalError</Code><Message>We encountered an internal "
      "error. Please try again.</Message></Error>";
  EXPECT_FALSE(parse_complete_multipart_upload(quirk));
  auto e = parse_error_xml(quirk);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "InternalError");
}

TEST(S3Xml, BuildCompleteMultipartUpload) {
  std::string body = build_complete_multipart_upload({{1, "\"aaa\"", ""}, {2, "bbb", "yZRlqg=="}});
  EXPECT_EQ(body,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CompleteMultipartUpload "
            "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Part><PartNumber>1</PartNumber>"
            "<ETag>\"aaa\"</ETag></Part><Part><PartNumber>2</PartNumber><ETag>\"bbb\"</ETag>"
            "<ChecksumCRC32C>yZRlqg==</ChecksumCRC32C></Part></CompleteMultipartUpload>");
}

TEST(S3Xml, ListObjectsV2) {
  auto r = parse_list_objects_v2(
      R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>
<Prefix>dir%2F</Prefix><MaxKeys>2</MaxKeys><EncodingType>url</EncodingType>
<Contents><Key>dir/a%20b%2Bc</Key><LastModified>2026-11-26T09:04:52.000Z</LastModified>
<ETag>"5eb63bbbe01eeed093cb22bb8f5acdc3"</ETag><Size>11</Size><StorageClass>STANDARD</StorageClass></Contents>
<Contents><Key>dir/x+y</Key><ETag>&quot;e&quot;</ETag><Size>12345678901</Size></Contents>
<CommonPrefixes><Prefix>dir/sub%2F</Prefix></CommonPrefixes>
<KeyCount>3</KeyCount><IsTruncated>true</IsTruncated><NextContinuationToken>tok==</NextContinuationToken>
</ListBucketResult>)");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->name, "b");
  EXPECT_EQ(r->prefix, "dir/");
  ASSERT_EQ(r->objects.size(), 2u);
  EXPECT_EQ(r->objects[0].key, "dir/a b+c");
  EXPECT_EQ(r->objects[0].size, 11u);
  EXPECT_EQ(r->objects[0].etag, "\"5eb63bbbe01eeed093cb22bb8f5acdc3\"");
  EXPECT_EQ(r->objects[0].last_modified, "2026-11-26T09:04:52.000Z");
  EXPECT_EQ(r->objects[0].storage_class, "STANDARD");
  EXPECT_EQ(r->objects[1].key, "dir/x y");  // '+' is a space in url encoding (botocore)
  EXPECT_EQ(r->objects[1].size, 12345678901u);
  ASSERT_EQ(r->common_prefixes.size(), 1u);
  EXPECT_EQ(r->common_prefixes[0], "dir/sub/");
  EXPECT_EQ(r->key_count, 3);
  EXPECT_TRUE(r->is_truncated);
  EXPECT_EQ(r->next_continuation_token, "tok==");

  // Without EncodingType keys are raw.
  r = parse_list_objects_v2(
      "<ListBucketResult><Name>b</Name><Contents><Key>a%20b</Key><Size>1</Size></Contents>"
      "<IsTruncated>false</IsTruncated></ListBucketResult>");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->objects[0].key, "a%20b");
  EXPECT_FALSE(r->is_truncated);

  EXPECT_FALSE(
      parse_list_objects_v2("<ListBucketResult><IsTruncated>true</IsTruncated>"
                            "</ListBucketResult>"));  // truncated without a token
  EXPECT_FALSE(parse_list_objects_v2("<ListAllMyBucketsResult/>"));
  EXPECT_FALSE(parse_list_objects_v2("garbage"));
}

TEST(S3Xml, ListMultipartUploads) {
  auto r = parse_list_multipart_uploads(
      R"(<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
<Bucket>b</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>
<NextKeyMarker>k2</NextKeyMarker><NextUploadIdMarker>u2</NextUploadIdMarker>
<MaxUploads>2</MaxUploads><IsTruncated>true</IsTruncated>
<Upload><Key>k1</Key><UploadId>u1</UploadId><Initiated>2026-11-26T09:04:52.000Z</Initiated></Upload>
<Upload><Key>k2</Key><UploadId>u2</UploadId></Upload></ListMultipartUploadsResult>)");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->uploads.size(), 2u);
  EXPECT_EQ(r->uploads[0].key, "k1");
  EXPECT_EQ(r->uploads[0].upload_id, "u1");
  EXPECT_EQ(r->uploads[0].initiated, "2026-11-26T09:04:52.000Z");
  EXPECT_TRUE(r->is_truncated);
  EXPECT_EQ(r->next_key_marker, "k2");
  EXPECT_EQ(r->next_upload_id_marker, "u2");

  r = parse_list_multipart_uploads(
      "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>"
      "</ListMultipartUploadsResult>");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->uploads.empty());
  EXPECT_FALSE(r->is_truncated);
}

TEST(S3Xml, EtagUnquoted) {
  EXPECT_EQ(etag_unquoted("\"abc\""), "abc");
  EXPECT_EQ(etag_unquoted("abc"), "abc");
  EXPECT_EQ(etag_unquoted("\""), "\"");
}

}  // namespace
}  // namespace ingestor::s3
