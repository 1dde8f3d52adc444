# The agent's identity: exactly the calls its S3 sink makes, on its own prefix. PutObject (one-shot
# objects, created with If-None-Match: *) and the multipart calls (CreateMultipartUpload, UploadPart
# and CompleteMultipartUpload are authorised by s3:PutObject), ListMultipartUploadParts and
# AbortMultipartUpload to resume or clean up after a crash, and ListBucketMultipartUploads on the
# bucket to find its leftovers. No read, no delete, no list of objects, no other prefix.
# Agents on EC2 use the instance profile; elsewhere, assume the role (agent_trusted_role_arns) or
# attach the managed policy (agent_policy_arn output) to an existing identity.

data "aws_iam_policy_document" "agent_assume" {
  dynamic "statement" {
    for_each = length(var.agent_trusted_services) > 0 ? [1] : []
    content {
      sid     = "TrustedServices"
      actions = ["sts:AssumeRole"]
      principals {
        type        = "Service"
        identifiers = var.agent_trusted_services
      }
    }
  }

  dynamic "statement" {
    for_each = length(var.agent_trusted_role_arns) > 0 ? [1] : []
    content {
      sid     = "TrustedPrincipals"
      actions = ["sts:AssumeRole"]
      principals {
        type        = "AWS"
        identifiers = var.agent_trusted_role_arns
      }
    }
  }
}

resource "aws_iam_role" "agent" {
  name               = "${var.name}-agent"
  description        = "Ingestor agent: uploads objects under s3://<bucket>/${var.agent_prefix}"
  assume_role_policy = data.aws_iam_policy_document.agent_assume.json
}

data "aws_iam_policy_document" "agent" {
  statement {
    sid = "UploadUnderPrefix"
    actions = [
      "s3:PutObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = ["${aws_s3_bucket.events.arn}/${var.agent_prefix}*"]
  }

  statement {
    sid       = "FindOwnIncompleteUploads"
    actions   = ["s3:ListBucketMultipartUploads"]
    resources = [aws_s3_bucket.events.arn]
  }
}

resource "aws_iam_policy" "agent" {
  name        = "${var.name}-agent-upload"
  description = "Ingestor agent: PutObject and multipart uploads under ${var.agent_prefix} only"
  policy      = data.aws_iam_policy_document.agent.json
}

resource "aws_iam_role_policy_attachment" "agent" {
  role       = aws_iam_role.agent.name
  policy_arn = aws_iam_policy.agent.arn
}

resource "aws_iam_instance_profile" "agent" {
  name = "${var.name}-agent"
  role = aws_iam_role.agent.name
}
