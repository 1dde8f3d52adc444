# The bucket the agents write to. Private (public access blocked, ACLs disabled), encrypted
# (SSE-S3), TLS-only for the actions this module grants, incomplete multipart uploads aborted by a
# lifecycle rule, and every object created under agent_prefix notified to the relay Lambda.

resource "aws_s3_bucket" "events" {
  bucket        = var.bucket_name
  bucket_prefix = var.bucket_name == null ? "${var.name}-events-" : null
  force_destroy = var.force_destroy_bucket
}

resource "aws_s3_bucket_public_access_block" "events" {
  bucket                  = aws_s3_bucket.events.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "events" {
  bucket = aws_s3_bucket.events.id
  rule {
    object_ownership = "BucketOwnerEnforced" # ACLs off: access is IAM only
  }
}

# SSE-S3 rather than SSE-KMS: no KMS request charges, and the agent and consumer roles need no
# kms:GenerateDataKey/kms:Decrypt grants. Switch to aws:kms here if a customer key is required.
resource "aws_s3_bucket_server_side_encryption_configuration" "events" {
  bucket = aws_s3_bucket.events.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "events" {
  bucket = aws_s3_bucket.events.id

  # An agent killed mid-upload leaves parts that are billed but invisible; the agent aborts its own
  # leftovers on restart (ListBucketMultipartUploads + AbortMultipartUpload), this catches the rest.
  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_days
    }
  }

  dynamic "rule" {
    for_each = var.object_expiration_days > 0 ? [var.object_expiration_days] : []
    content {
      id     = "expire-agent-objects"
      status = "Enabled"
      filter {
        prefix = var.agent_prefix
      }
      expiration {
        days = rule.value
      }
    }
  }
}

# Requests over plain HTTP are refused for every action this module grants to anyone (the actions
# are listed, not "s3:*", so that no policy in this module holds a wildcard).
data "aws_iam_policy_document" "bucket" {
  statement {
    sid    = "DenyInsecureTransport"
    effect = "Deny"
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
      "s3:ListBucketMultipartUploads",
    ]
    resources = [aws_s3_bucket.events.arn, "${aws_s3_bucket.events.arn}/*"]
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "events" {
  bucket = aws_s3_bucket.events.id
  policy = data.aws_iam_policy_document.bucket.json
  # The public access block must exist first, or S3 may judge the policy against the old settings.
  depends_on = [aws_s3_bucket_public_access_block.events]
}

# S3 may invoke the relay, for this bucket in this account only.
resource "aws_lambda_permission" "s3_invoke_relay" {
  statement_id   = "AllowS3InvokeFromEventsBucket"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.relay.function_name
  principal      = "s3.amazonaws.com"
  source_arn     = aws_s3_bucket.events.arn
  source_account = data.aws_caller_identity.current.account_id
}

# Every object created under agent_prefix (PutObject, CompleteMultipartUpload, CopyObject) -> relay.
resource "aws_s3_bucket_notification" "events" {
  bucket = aws_s3_bucket.events.id

  lambda_function {
    id                  = "ingestor-relay"
    lambda_function_arn = aws_lambda_function.relay.arn
    events              = ["s3:ObjectCreated:*"]
    filter_prefix       = var.agent_prefix
  }

  # S3 checks that it may invoke the function when the configuration is saved.
  depends_on = [aws_lambda_permission.s3_invoke_relay]
}
